package coordinator_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/registry"
)

// Home finds an id recorded as it was sent (by an older build) whatever
// token sends the batch again; so an instance registered with the
// bootstrap agent token must record its ids within a space of its own as
// every other does, or, sending a victim's next ids, it would make the
// victim's batches duplicates, home restarted in between or not.
func TestBootstrapTokenIDsAreNotFoundForAJoinToken(t *testing.T) {
	h := newUsageHome(t)
	minute := time.Now().Unix() / 60
	claim := registry.UsageBatch{ID: "news-v-1", Instance: "news-x", ServiceID: h.service,
		Entries: []registry.UsageEntry{{ApplicationID: h.app2, MetricID: h.hits, Minute: minute, Delta: 1}}}
	require.False(t, sendBatch(t, h.url, claim).Duplicate)
	h.stop()
	h.url, h.stop = startUsageHome(t, h.dir)

	tok := newsToken(t, h.url)
	code, reply, out := postBatch(t, h.url, registerWith(t, h.url, tok.Token, "news", "news-v"), registry.UsageBatch{
		ID: "news-v-1", Instance: "news-v", ServiceID: h.service, SentWith: []string{tok.ID},
		Entries: []registry.UsageEntry{{ApplicationID: h.app, MetricID: h.hits, Minute: minute, Delta: 4}}})
	require.Equal(t, http.StatusOK, code, out)
	assert.False(t, reply.Duplicate, "the bootstrap instance's id was taken for the victim's")
	v, _ := totalOf(reply, h.app, h.hits, "day")
	assert.EqualValues(t, 4, v)
}
