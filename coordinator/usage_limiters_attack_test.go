package coordinator_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/client"
)

// Home keeps the counts of rate limit windows in memory, bounded over all
// services. An instance of one service that reports as many windows as
// its batches carry, each a year long, must not fill that bound for every
// other service: their global rate limits would no longer be counted
// cluster-wide, each agent enforcing only its own share.
func TestOneServicesLimiterWindowsCannotCrowdOutAnothers(t *testing.T) {
	h := newUsageHome(t)
	ctx := context.Background()
	boot, err := client.New(client.Config{Address: h.url, Token: usageAgentToken})
	require.NoError(t, err)
	reg, err := boot.Register(ctx, "other-1", &registry.Registration{Service: "other", Address: "127.0.0.1", Port: 8080})
	require.NoError(t, err)
	attacker := reg.Credential
	news := registerNews(t, h.url, "news-1")

	now := time.Now().Unix()
	const year = 366 * 24 * 3600
	for b := range 21 {
		counts := make([]registry.LimiterCount, registry.MaxLimiterCounts)
		for i := range counts {
			counts[i] = registry.LimiterCount{Key: "k" + s(int64(b*registry.MaxLimiterCounts+i)), Start: now, Window: year, Value: 1}
		}
		code, _, out := postBatch(t, h.url, attacker, registry.UsageBatch{ID: "other-1-" + s(int64(b)), Instance: "other-1",
			ServiceID: h.other, Limiters: counts})
		require.Equal(t, http.StatusOK, code, "%.300s", out)
	}
	// The window starts now, not at the loop's start: the batches above
	// can take seconds, and a window that has ended is rightly dropped.
	mine := registry.LimiterCount{Key: "news-global", Start: time.Now().Unix(), Window: 3600, Value: 2}
	code, reply, out := postBatch(t, h.url, news, registry.UsageBatch{ID: "news-1-1", Instance: "news-1", ServiceID: h.service,
		Limiters: []registry.LimiterCount{mine}})
	require.Equal(t, http.StatusOK, code, "%.300s", out)
	assert.Equal(t, []registry.LimiterCount{mine}, reply.Limiters, "the news service's window is counted")
}
