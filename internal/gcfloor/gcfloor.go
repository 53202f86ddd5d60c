// Package gcfloor keeps the garbage collector's heap goal at or above a
// floor: with a small live heap, GOGC alone collects every few megabytes
// allocated, and each cycle marks the whole live heap again (a coordinator
// holding 10,000 instances collected every 50 ms under heartbeat load, its
// p99 latency paying for the marking). Above the floor GOGC rules as
// usual, so a large heap grows by GOGC's proportion and no more.
//
// The GC percent is set again at the end of every cycle, from the heap that
// cycle found live: a live heap that jumps (100,000 registrations in a few
// seconds) gets GOGC's goal from the next cycle on, not a goal made for the
// small heap before it.
//
// It changes the process's GC percent (runtime/debug), so only a main
// package (or a benchmark standing for one) should run it. It imports
// nothing of Portolan.
package gcfloor

import (
	"context"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// The runtime metrics read: the heap the last cycle marked live, and the
// GC percent (GOGC, or what SetGCPercent set).
const (
	liveHeap  = "/gc/heap/live:bytes"
	gcPercent = "/gc/gogc:percent"
)

// mostPercent bounds the percent set: a goal of at most 11 × the live heap,
// so that a tiny heap does not get the whole floor as its goal.
const mostPercent = 1000

// Run keeps the heap goal at max(GOGC's goal, floor) until ctx ends, then
// restores the GC percent it found. With GOGC=off (a negative percent) or a
// zero floor it does nothing.
func Run(ctx context.Context, floor uint64) {
	base := CurrentPercent()
	if base < 0 || floor == 0 {
		return
	}
	t := &tuner{floor: floor, base: base, current: base, sample: []metrics.Sample{{Name: liveHeap}}}
	t.adjust()
	t.arm()
	<-ctx.Done()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stopped = true
	debug.SetGCPercent(base)
}

// tuner sets the GC percent after every cycle.
type tuner struct {
	floor uint64
	base  int

	mu      sync.Mutex // adjust against stop
	stopped bool
	current int
	sample  []metrics.Sample
}

// sentinel is garbage whose cleanup tells the tuner a cycle ended. It holds
// a pointer so that the allocator does not pack it with other small objects.
type sentinel struct{ _ *byte }

// arm makes the next cycle's end call adjust, and arm again.
func (t *tuner) arm() {
	runtime.AddCleanup(&sentinel{}, func(t *tuner) {
		if t.adjust() {
			t.arm()
		}
	}, t)
}

// adjust sets the percent for the live heap the last cycle found; it
// reports false once Run has stopped.
func (t *tuner) adjust() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return false
	}
	metrics.Read(t.sample)
	if t.sample[0].Value.Kind() != metrics.KindUint64 {
		return true
	}
	if p := Percent(t.sample[0].Value.Uint64(), t.floor, t.base); p != t.current {
		debug.SetGCPercent(p)
		t.current = p
	}
	return true
}

// Percent is the GC percent that makes the heap goal, live × (1 + percent /
// 100), at least floor, never less than base nor more than mostPercent. A
// live heap of zero (no cycle yet) keeps base.
func Percent(live, floor uint64, base int) int {
	if live == 0 || live >= floor {
		return base
	}
	p := min((floor-live)*100/live, mostPercent)
	return max(int(p), base)
}

// CurrentPercent is the GC percent in force; negative when GOGC=off.
func CurrentPercent() int {
	s := []metrics.Sample{{Name: gcPercent}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 100
	}
	p := s[0].Value.Uint64()
	if p > 1<<31 {
		return -1
	}
	return int(p)
}
