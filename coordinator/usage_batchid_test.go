package coordinator_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/client"
	"github.com/portolan/portolan/usage"
)

// registerWithJoinToken creates a join token for service and registers
// instance id of service with it; it returns the instance's credential.
func registerWithJoinToken(t *testing.T, base, service, id string) string {
	t.Helper()
	ctx := context.Background()
	admin, err := client.New(client.Config{Address: base, Token: usageAdminToken})
	require.NoError(t, err)
	tok, err := admin.CreateJoinToken(ctx, &registry.JoinTokenSpec{Service: service})
	require.NoError(t, err)
	c, err := client.New(client.Config{Address: base, Token: tok.Token})
	require.NoError(t, err)
	reply, err := c.Register(ctx, id, &registry.Registration{Service: service, Address: "127.0.0.1", Port: 8080})
	require.NoError(t, err)
	return reply.Credential
}

func postBatch(t *testing.T, base, cred string, b registry.UsageBatch) (int, registry.UsageReply, string) {
	t.Helper()
	body, err := json.Marshal(b)
	require.NoError(t, err)
	code, out := postUsage(t, base, cred, body)
	var reply registry.UsageReply
	if code == http.StatusOK {
		require.NoError(t, json.Unmarshal(out, &reply), "%s", out)
	}
	return code, reply, string(out)
}

// An agent's batch ids are its instance id and a sequence number
// (agent/ledger), and any instance reads every instance id on the map. An
// instance of another service, registered with another join token, that
// sends batches of its own service's usage under a victim's next ids must
// not make home take the victim's batches for duplicates: its usage would
// never count, nor its plan limits hold.
func TestBatchIDsOfAnotherInstanceCannotBeClaimedFirst(t *testing.T) {
	h := newUsageHome(t)
	minute := time.Now().Unix() / 60
	victim := registerWithJoinToken(t, h.url, "news", "news-host-0a1b2c3d")
	attacker := registerWithJoinToken(t, h.url, "other", "other-host-99887766")

	for seq := range []int{0, 1, 2} {
		id := "news-host-0a1b2c3d-" + s(int64(seq))
		code, _, out := postBatch(t, h.url, attacker, registry.UsageBatch{ID: id, Instance: "other-host-99887766", ServiceID: h.other,
			Entries: []registry.UsageEntry{{ApplicationID: h.otherServiceApp, MetricID: h.otherServiceHits, Minute: minute, Delta: 1}}})
		require.Equal(t, http.StatusOK, code, "the attacker's own service's usage is its to report: %s", out)
	}
	code, reply, out := postBatch(t, h.url, victim, registry.UsageBatch{ID: "news-host-0a1b2c3d-1", Instance: "news-host-0a1b2c3d",
		ServiceID: h.service, Entries: []registry.UsageEntry{{ApplicationID: h.app, MetricID: h.hits, Minute: minute, Delta: 3}}})
	require.Equal(t, http.StatusOK, code, out)
	assert.False(t, reply.Duplicate, "the victim's batch was taken for a duplicate of the attacker's")
	v, _ := totalOf(reply, h.app, h.hits, "minute")
	assert.EqualValues(t, 3, v, "the victim's usage counts")

	// Its own retry is still a duplicate: exactly once holds.
	_, again, _ := postBatch(t, h.url, victim, registry.UsageBatch{ID: "news-host-0a1b2c3d-1", Instance: "news-host-0a1b2c3d",
		ServiceID: h.service, Entries: []registry.UsageEntry{{ApplicationID: h.app, MetricID: h.hits, Minute: minute, Delta: 3}}})
	assert.True(t, again.Duplicate)
	v, _ = totalOf(again, h.app, h.hits, "minute")
	assert.EqualValues(t, 3, v)

	// An id with the separator of another token's space is refused.
	code, _, out = postBatch(t, h.url, attacker, registry.UsageBatch{ID: "x\x00news-host-0a1b2c3d-2", ServiceID: h.other})
	assert.Equal(t, http.StatusUnprocessableEntity, code, out)
	assert.Contains(t, out, "control character")
}

// An agent with nothing to report polls the totals every second with an
// empty batch under a new id (agent/ledger): home writes nothing for it,
// or every agent would add an fsynced log record a second and an id kept
// for usage.BatchRetention, and one credential could grow home's disk
// without bound by polling.
func TestPollsWriteNothingAtHome(t *testing.T) {
	h := newUsageHome(t)
	cred := registerNews(t, h.url, "poller")
	wal := filepath.Join(h.dir, usage.WALFile)
	size := func() int64 {
		st, err := os.Stat(wal)
		if os.IsNotExist(err) {
			return 0
		}
		require.NoError(t, err)
		return st.Size()
	}
	before := size()
	for i := range 200 {
		code, _, out := postBatch(t, h.url, cred, registry.UsageBatch{ID: "poller-" + s(int64(i)), Instance: "poller", ServiceID: h.service,
			Entries: []registry.UsageEntry{}})
		require.Equal(t, http.StatusOK, code, out)
	}
	assert.Equal(t, before, size(), "polls wrote to %s", wal)
	_, reply, _ := postBatch(t, h.url, cred, registry.UsageBatch{ID: "poller-0", Instance: "poller", ServiceID: h.service})
	assert.False(t, reply.Duplicate, "a poll's id is not kept")
}
