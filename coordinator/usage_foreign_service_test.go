package coordinator_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/registry"
)

// An instance holds only what its placement needs (DESIGN: Trust): "report
// usage for its placement's applications". A batch it sends for another
// service is refused (403) before its entries are read, the same whatever
// they name, so their errors tell it nothing of which applications that
// service has (a 422 "application N is not of service S" did, for every
// application of any other service).
func TestUsageForAnotherServiceRevealsNoneOfItsApplications(t *testing.T) {
	h := newUsageHome(t)
	minute := time.Now().Unix() / 60
	cred := registerNews(t, h.url, "news-1")
	for _, app := range []int64{h.app, h.otherServiceApp, 999999} {
		body, err := json.Marshal(registry.UsageBatch{ID: "news-1-1", Instance: "news-1", ServiceID: h.other,
			Entries: []registry.UsageEntry{{ApplicationID: app, MetricID: h.otherServiceHits, Minute: minute, Delta: 1}}})
		require.NoError(t, err)
		code, out := postUsage(t, h.url, cred, body)
		assert.Equal(t, http.StatusForbidden, code, "application %d: %s", app, out)
		assert.Contains(t, string(out), "reports usage for its own service only", "application %d", app)
		assert.NotContains(t, string(out), "application", "application %d: the answer names applications", app)
	}
	// its own service's batches are still checked entry by entry
	body, err := json.Marshal(registry.UsageBatch{ID: "news-1-2", Instance: "news-1", ServiceID: h.service,
		Entries: []registry.UsageEntry{{ApplicationID: h.app, MetricID: h.hits, Minute: minute, Delta: -1}}})
	require.NoError(t, err)
	code, out := postUsage(t, h.url, cred, body)
	assert.Equal(t, http.StatusUnprocessableEntity, code, "%s", out)
	assert.Contains(t, string(out), "entries[0]: delta -1")
}
