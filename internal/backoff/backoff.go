package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff paces the retries of one loop: the wait after the first failure
// in a row is about Min, each further failure doubles it, up to Max. The
// waits are jittered (see Delay) so that many clients failing together, as
// agents do when home restarts, do not retry in step.
//
// Its zero count is "no failure yet"; Reset brings it back there after a
// success. Min and Max may be changed between calls (the agent caps its
// retries at the heartbeat interval home tells it). A Backoff is not safe
// for concurrent use: each loop keeps its own.
type Backoff struct {
	Min, Max time.Duration

	failures int
}

// Next counts one more failure and returns how long to wait before the
// next attempt.
func (b *Backoff) Next() time.Duration {
	if b.failures < maxShift+1 {
		b.failures++
	}
	return Delay(b.failures, b.Min, b.Max)
}

// Reset forgets the failures: the next wait is about Min again.
func (b *Backoff) Reset() { b.failures = 0 }

// Failures is the number of failures in a row counted by Next since the last
// Reset.
func (b *Backoff) Failures() int { return b.failures }

// Wait sleeps for Next(), or until ctx ends; it reports whether ctx is still
// live.
func (b *Backoff) Wait(ctx context.Context) bool { return Sleep(ctx, b.Next()) }

// maxShift bounds the doubling, far beyond any Max in use.
const maxShift = 32

// Delay is the wait after the given number of failures in a row (1 for the
// first; less counts as 1): lo doubled per further failure, capped at hi,
// with "equal jitter": a random wait in [d/2, d] for that d. Half of every
// wait is certain, so a failing loop never spins; the other half spreads the
// clients out. A hi below lo caps everything at hi.
func Delay(failures int, lo, hi time.Duration) time.Duration {
	d := hi
	n := min(max(failures, 1), maxShift+1) - 1
	if v := lo << n; lo > 0 && v>>n == lo && v < hi {
		d = v
	}
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d/2+1)
}

// Sleep waits d, or until ctx ends, and reports whether ctx is still live.
// A d of zero or less does not wait.
func Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
