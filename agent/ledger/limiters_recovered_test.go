package ledger

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/agent/gateway/policy"
	"github.com/portolan/portolan/registry"
)

// A batch a previous run spooled carries rate limit counts this run never
// counted as pending; when it leaves the spool (acknowledged, or its
// counts dropped as a week old) the counts it takes back off pending must
// be its own, not this run's requests of the same window: a count short
// of them would let that many requests through for the rest of a window
// that may last a year.
func TestRecoveredBatchLeavingTheSpoolKeepsThisRunsRateLimitCounts(t *testing.T) {
	ctx := context.Background()
	window := time.Duration(policy.MaxHomeWindow) * time.Second
	spoolOne := func(cutAt time.Time) (dir string, start time.Time) {
		dir = t.TempDir()
		start = time.Now().Add(-9 * 24 * time.Hour).Truncate(time.Second)
		l1 := newTestLedger(t, dir, "rec-one")
		l1.clock = func() time.Time { return cutAt }
		l1.SendsWith("0000aaaa")
		_, err := l1.AddGlobal("k", start, window, 3)
		require.NoError(t, err)
		l1.cut()
		require.True(t, l1.persistAll())
		require.NoError(t, l1.Close()) // stopped before home had it
		return dir, start
	}
	count := func(l *Ledger, start time.Time, delta int64) int64 {
		n, err := l.AddGlobal("k", start, window, delta)
		require.NoError(t, err)
		return n
	}

	t.Run("dropped as a week old", func(t *testing.T) {
		dir, start := spoolOne(time.Now().Add(-8 * 24 * time.Hour))
		l2 := newTestLedger(t, dir, "rec-two")
		l2.SendsWith("0000aaaa")
		assert.EqualValues(t, 5, count(l2, start, 2), "the previous run's 3 home has not acknowledged and this run's 2")
		home := &recorder{}
		require.NoError(t, l2.flush(ctx, home))
		require.Len(t, home.sent, 1)
		require.Empty(t, home.sent[0].Limiters)
		assert.EqualValues(t, 2, count(l2, start, 0), "this run's 2 requests still count")
	})

	t.Run("acknowledged", func(t *testing.T) {
		dir, start := spoolOne(time.Now())
		l2 := newTestLedger(t, dir, "rec-two")
		l2.SendsWith("0000aaaa")
		assert.EqualValues(t, 5, count(l2, start, 2))
		home := &countingHome{counts: []registry.LimiterCount{{Key: "k", Start: start.Unix(), Window: int64(window / time.Second), Value: 3}}}
		require.NoError(t, l2.flush(ctx, home))
		assert.EqualValues(t, 5, count(l2, start, 0), "home's 3 and this run's 2")
	})
}

// countingHome applies every batch and answers with counts.
type countingHome struct{ counts []registry.LimiterCount }

func (h *countingHome) PostUsage(context.Context, *registry.UsageBatch) (*registry.UsageReply, error) {
	return &registry.UsageReply{Limiters: h.counts}, nil
}
