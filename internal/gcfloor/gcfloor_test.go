package gcfloor

import (
	"context"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestPercent(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		live, floor uint64
		base, want  int
	}{
		{10 * mib, 32 * mib, 100, 220}, // goal 10 × 3.2 = 32 MiB
		{16 * mib, 32 * mib, 100, 100}, // GOGC's goal reaches the floor
		{40 * mib, 32 * mib, 100, 100}, // above the floor: GOGC rules
		{10 * mib, 32 * mib, 300, 300}, // never below GOGC
		{0, 32 * mib, 100, 100},        // no cycle yet
		{1, 32 * mib, 100, 1000},       // bounded
		{10 * mib, 0, 100, 100},        // no floor
		{31 * mib, 32 * mib, 50, 50},   // a low GOGC kept
		{20 * mib, 32 * mib, 50, 60},   // 20 × 1.6 = 32
	} {
		assert.Equal(t, tc.want, Percent(tc.live, tc.floor, tc.base), "live %d floor %d base %d", tc.live, tc.floor, tc.base)
	}
}

// Run raises the GC percent while the live heap is under the floor, and
// gives the one it found back when it stops.
func TestRunRaisesAndRestores(t *testing.T) {
	before := debug.SetGCPercent(100)
	defer debug.SetGCPercent(before)
	keep := make([]byte, 1<<20) // something live
	runtime.GC()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { Run(ctx, 128<<20); close(done) }()
	assert.Eventually(t, func() bool { return CurrentPercent() > 100 }, 5*time.Second, 10*time.Millisecond, "raised under the floor")

	// A live heap over the floor: GOGC's own percent from the next cycle.
	big := make([]byte, 256<<20) // untouched: fresh pages, little memory used
	runtime.GC()
	runtime.GC() // the cleanup of the first cycle's end runs after it
	assert.Eventually(t, func() bool { return CurrentPercent() == 100 }, 5*time.Second, 10*time.Millisecond, "GOGC over the floor")
	runtime.KeepAlive(big)
	cancel()
	<-done
	assert.Equal(t, 100, debug.SetGCPercent(100), "restored")
	runtime.KeepAlive(keep)
}

// With GOGC=off there is nothing to raise.
func TestRunLeavesGOGCOff(t *testing.T) {
	before := debug.SetGCPercent(-1)
	defer debug.SetGCPercent(before)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	Run(ctx, 1<<30)
	assert.Equal(t, -1, CurrentPercent())
}
