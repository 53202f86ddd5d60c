package backoff

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDelayDoublesWithinBounds: the wait after n failures is lo doubled n-1
// times, capped at hi, jittered within its upper half. (Moved from
// cmd/portolan's TestBackoff.)
func TestDelayDoublesWithinBounds(t *testing.T) {
	lo, hi := 100*time.Millisecond, 2*time.Second
	for failures, base := range map[int]time.Duration{
		0: lo, 1: lo, 2: 2 * lo, 3: 4 * lo, 5: 16 * lo, 6: hi, 40: hi, 1000: hi,
	} {
		for range 50 {
			d := Delay(failures, lo, hi)
			assert.GreaterOrEqual(t, d, base/2, "failures %d", failures)
			assert.LessOrEqual(t, d, base, "failures %d", failures)
		}
	}
}

// TestDelayJitterSpreadsWaits: the jitter covers its range rather than
// always giving the same wait, so clients failing together drift apart.
func TestDelayJitterSpreadsWaits(t *testing.T) {
	const hi = time.Second
	lowest, highest := hi, time.Duration(0)
	seen := map[time.Duration]bool{}
	for range 2000 {
		d := Delay(1, hi, hi)
		lowest, highest = min(lowest, d), max(highest, d)
		seen[d] = true
	}
	assert.Less(t, lowest, 600*time.Millisecond, "the low end of [500ms, 1s] is reached")
	assert.Greater(t, highest, 900*time.Millisecond, "the high end of [500ms, 1s] is reached")
	assert.Greater(t, len(seen), 100, "waits are spread, not a handful of values")
}

func TestDelayEdgeCases(t *testing.T) {
	assert.Equal(t, time.Duration(0), Delay(3, 0, 0), "no bound, no wait")
	for range 20 {
		d := Delay(1, time.Second, 100*time.Millisecond)
		assert.LessOrEqual(t, d, 100*time.Millisecond, "a hi below lo caps the wait")
		assert.GreaterOrEqual(t, d, 50*time.Millisecond)
	}
	for range 20 {
		d := Delay(5, 0, time.Second)
		assert.LessOrEqual(t, d, time.Second, "no lo: the cap")
		assert.GreaterOrEqual(t, d, 500*time.Millisecond)
	}
	for _, lo := range []time.Duration{time.Hour, 1 << 40} {
		d := Delay(1<<20, lo, 1<<62)
		assert.Positive(t, d, "no overflow for lo %v", lo)
		assert.LessOrEqual(t, d, time.Duration(1<<62))
	}
}

func TestBackoffCountsAndResets(t *testing.T) {
	b := Backoff{Min: 10 * time.Millisecond, Max: 80 * time.Millisecond}
	for i, base := range []time.Duration{10, 20, 40, 80, 80, 80} {
		base *= time.Millisecond
		d := b.Next()
		assert.Equal(t, i+1, b.Failures())
		assert.GreaterOrEqual(t, d, base/2, "failure %d", i+1)
		assert.LessOrEqual(t, d, base, "failure %d", i+1)
	}
	b.Reset()
	assert.Equal(t, 0, b.Failures())
	assert.LessOrEqual(t, b.Next(), 10*time.Millisecond, "back to Min after Reset")

	b.Max = 15 * time.Millisecond // a caller may lower the cap between calls
	for range 10 {
		assert.LessOrEqual(t, b.Next(), 15*time.Millisecond)
	}
	for range 100 {
		b.Next() // the count saturates instead of overflowing
	}
	assert.Equal(t, maxShift+1, b.Failures())
}

func TestSleepWaits(t *testing.T) {
	start := time.Now()
	assert.True(t, Sleep(context.Background(), 30*time.Millisecond))
	assert.GreaterOrEqual(t, time.Since(start), 30*time.Millisecond)

	assert.True(t, Sleep(context.Background(), 0), "no wait, live context")
	assert.True(t, Sleep(context.Background(), -time.Second))
}

func TestSleepEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	start := time.Now()
	assert.False(t, Sleep(ctx, time.Minute), "a cancelled context ends the sleep")
	assert.Less(t, time.Since(start), 10*time.Second)

	assert.False(t, Sleep(ctx, 0), "an ended context is reported without a wait")
	assert.False(t, Sleep(ctx, time.Minute))
}

func TestBackoffWaitEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	b := Backoff{Min: time.Minute, Max: time.Hour}
	time.AfterFunc(20*time.Millisecond, cancel)
	start := time.Now()
	require.False(t, b.Wait(ctx))
	assert.Less(t, time.Since(start), 10*time.Second)
	assert.Equal(t, 1, b.Failures())

	fast := Backoff{Min: time.Millisecond, Max: time.Millisecond}
	assert.True(t, fast.Wait(context.Background()))
}
