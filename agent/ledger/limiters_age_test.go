package ledger

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/agent/gateway/policy"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/usage"
)

// recorder is a home that records the batches sent to it, answers with no
// totals and counts rate limit windows (an empty Limiters), or fails each
// send with err: home applied the batch and its reply was lost.
type recorder struct {
	err  error
	mu   sync.Mutex
	sent []registry.UsageBatch
}

func (r *recorder) PostUsage(_ context.Context, b *registry.UsageBatch) (*registry.UsageReply, error) {
	r.mu.Lock()
	r.sent = append(r.sent, *b)
	r.mu.Unlock()
	if r.err != nil {
		return nil, r.err
	}
	return &registry.UsageReply{Limiters: []registry.LimiterCount{}}, nil
}

// Home remembers a batch id a week (usage.BatchRetention) and forgets it
// after, while a global rate limit window may last a year: a batch home
// applied, whose reply was lost, sent again more than a week later would
// add its requests again to a window still open. So a batch cut longer
// ago than home remembers ids is sent without its rate limit counts
// (its usage, checked against the same week by home, is sent as it is),
// within one run as after a restart, whose spool keeps when it was cut.
func TestRateLimitCountsOfABatchHomeMayHaveForgottenAreNotSentAgain(t *testing.T) {
	require.LessOrEqual(t, maxLimiterResendAge, usage.BatchRetention, "within home's memory of batch ids")
	ctx := context.Background()
	window := time.Duration(policy.MaxHomeWindow) * time.Second
	cutAt := time.Now().Add(-8 * 24 * time.Hour)
	start := cutAt.Add(-time.Hour).Truncate(time.Second)

	// The first run: a batch with 3 requests of a year's window, cut 8 days
	// ago under token A and applied by home, its reply lost.
	dir := t.TempDir()
	l1 := newTestLedger(t, dir, "lim-one")
	l1.clock = func() time.Time { return cutAt }
	l1.SendsWith("0000aaaa")
	_, err := l1.AddGlobal("k", start, window, 3)
	require.NoError(t, err)
	admitN(t, l1, 2, cutAt)
	l1.cut()
	require.True(t, l1.persistAll())
	lost := &recorder{err: errors.New("reply lost")}
	require.Error(t, l1.flush(ctx, lost))
	require.Len(t, lost.sent, 1)
	require.Len(t, lost.sent[0].Limiters, 1, "a fresh batch carries its counts")
	require.NoError(t, l1.Close())

	// The next run, with token B (the batch file is written again) and
	// today's clock, sends it again without its rate limit counts.
	l2 := newTestLedger(t, dir, "lim-two")
	l2.SendsWith("0000bbbb")
	home := &recorder{}
	require.NoError(t, l2.flush(ctx, home))
	require.Len(t, home.sent, 1)
	assert.Equal(t, lost.sent[0].ID, home.sent[0].ID)
	assert.Empty(t, home.sent[0].Limiters, "cut 8 days ago: home may have forgotten its id")
	assert.Len(t, home.sent[0].Entries, 1, "its usage is still sent: home checks its minutes")

	// Within one run: a batch spooled 8 days (home unreachable) too, and
	// its counts no longer pending here.
	l3 := newTestLedger(t, t.TempDir(), "lim-three")
	now := cutAt
	l3.clock = func() time.Time { return now }
	l3.SendsWith("0000aaaa")
	_, err = l3.AddGlobal("k", start, window, 3)
	require.NoError(t, err)
	l3.cut()
	require.True(t, l3.persistAll())
	now = cutAt.Add(maxLimiterResendAge)
	home = &recorder{}
	require.NoError(t, l3.flush(ctx, home))
	require.Len(t, home.sent, 1)
	assert.Empty(t, home.sent[0].Limiters)
	got, err := l3.AddGlobal("k", start, window, 0)
	require.NoError(t, err)
	assert.Zero(t, got, "the counts not sent are not pending")
}
