//go:build upgrade

package coordinator_test

import (
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/registry"
)

// An older home (before batch ids were recorded within join tokens; the
// build of 2026-12-06, 468fa42, is one) applies a batch of an agent
// registered with a join token, and the reply is lost; home is upgraded,
// and the agent sends the batch again to the current build. It must count
// once: the older home recorded the id as it was sent, and an agent bills
// its usage only through batches home acknowledges.
func TestUpgradeBatchAppliedByAnOlderHomeCountsOnce(t *testing.T) {
	old := oldBinary(t)
	h := newUsageHome(t)
	tok := newsToken(t, h.url)
	h.stop()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	oh := startOldHomeOn(t, old, addr, h.dir, usageAdminToken, usageAgentToken)
	minute := time.Now().Unix() / 60
	batch := registry.UsageBatch{ID: "news-a-1", Instance: "news-a", ServiceID: h.service,
		Entries: []registry.UsageEntry{{ApplicationID: h.app, MetricID: h.hits, Minute: minute, Delta: 2}}}
	code, reply, out := postBatch(t, "http://"+addr, registerWith(t, "http://"+addr, tok.Token, "news", "news-a"), batch)
	require.Equal(t, http.StatusOK, code, out)
	require.False(t, reply.Duplicate)
	oh.stop()

	h.url, h.stop = startUsageHome(t, h.dir)
	cred := registerWith(t, h.url, tok.Token, "news", "news-a")
	batch.SentWith = []string{tok.ID} // as the current agent sends it
	code, reply, out = postBatch(t, h.url, cred, batch)
	require.Equal(t, http.StatusOK, code, out)
	assert.True(t, reply.Duplicate, "applied by the older home already")
	v, _ := totalOf(reply, h.app, h.hits, "day")
	assert.EqualValues(t, 2, v, "counted once")

	// A batch the older home never saw counts, once.
	next := registry.UsageBatch{ID: "news-a-2", Instance: "news-a", ServiceID: h.service, SentWith: []string{tok.ID},
		Entries: []registry.UsageEntry{{ApplicationID: h.app, MetricID: h.hits, Minute: minute, Delta: 1}}}
	for _, dup := range []bool{false, true} {
		code, reply, out = postBatch(t, h.url, cred, next)
		require.Equal(t, http.StatusOK, code, out)
		assert.Equal(t, dup, reply.Duplicate)
	}
	v, _ = totalOf(reply, h.app, h.hits, "day")
	assert.EqualValues(t, 3, v)

}
