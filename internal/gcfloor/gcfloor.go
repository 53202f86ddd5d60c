// Package gcfloor keeps the garbage collector's heap goal at or above a
// floor: with a small live heap, GOGC alone collects every few megabytes
// allocated, and each cycle marks the whole live heap again (a coordinator
// holding 10,000 instances collected every 50 ms under heartbeat load, its
// p99 latency paying for the marking). Above the floor GOGC rules as
// usual, so a large heap grows by GOGC's proportion and no more.
//
// It changes the process's GC percent (runtime/debug), so only a main
// package should run it. It imports nothing of Portolan.
package gcfloor

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// The runtime metrics read: the heap the last cycle marked live, and the
// GC percent (GOGC, or what SetGCPercent set).
const (
	liveHeap  = "/gc/heap/live:bytes"
	gcPercent = "/gc/gogc:percent"
)

// Run keeps the heap goal at max(GOGC's goal, floor) until ctx ends, looking
// at the live heap every interval; it restores the GC percent it found when
// it returns. With GOGC=off (a negative percent) or a zero floor it does
// nothing.
func Run(ctx context.Context, floor uint64, interval time.Duration) {
	base := CurrentPercent()
	if base < 0 || floor == 0 {
		return
	}
	defer debug.SetGCPercent(base)
	sample := []metrics.Sample{{Name: liveHeap}}
	t := time.NewTicker(interval)
	defer t.Stop()
	current := base
	for {
		metrics.Read(sample)
		if sample[0].Value.Kind() == metrics.KindUint64 {
			if p := Percent(sample[0].Value.Uint64(), floor, base); p != current {
				debug.SetGCPercent(p)
				current = p
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Percent is the GC percent that makes the heap goal, live × (1 + percent /
// 100), at least floor, and never less than base. A live heap of zero (no
// cycle yet) keeps base.
func Percent(live, floor uint64, base int) int {
	if live == 0 || live >= floor {
		return base
	}
	p := (floor - live) * 100 / live
	const most = 10_000 // a goal of 101 × the live heap: the floor rules anyway
	if p > most {
		p = most
	}
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
