package registry

import (
	"fmt"
	"testing"
	"time"
)

// fullSweep is the reaper before the deadline heap, kept as the baseline
// of BenchmarkReaper100k: every tick looked at every instance under the
// lock. It acts as the reaper does when an instance is due; the benchmark
// has none due.
func fullSweep(r *Registry, now time.Time) (due int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, in := range r.instances {
		if !in.expired && !now.Before(in.lastHeartbeat.Add(in.ttl)) {
			due++
		}
		if in.status == codeCritical && !now.Before(in.criticalSince.Add(r.dca)) {
			due++
		}
	}
	return due
}

// BenchmarkReaper100k is the cost of one reaper tick with 100,000 live
// instances, none due: the deadline heap (deadlines) against the full
// sweep it replaced (full-sweep), in one run.
func BenchmarkReaper100k(b *testing.B) {
	const n = 100_000
	f := newFixture(b)
	f.r.maxInstances = n
	for i := range n {
		if _, err := f.r.Register(fmt.Sprintf("i%06d", i), reg("news")); err != nil {
			b.Fatal(err)
		}
	}
	now := f.clock.Advance(time.Second)
	b.Run("deadlines", func(b *testing.B) {
		for b.Loop() {
			f.r.sweep(now)
		}
	})
	b.Run("full-sweep", func(b *testing.B) {
		for b.Loop() {
			if fullSweep(f.r, now) != 0 {
				b.Fatal("an instance is due")
			}
		}
	})
}
