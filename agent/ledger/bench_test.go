package ledger

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/portolan/portolan/composition"
)

// BenchmarkAdmit measures Admit as the gateway calls it (a method and
// hits, a decision reading two counters), in memory and with the journal
// (a copy into the mapped file per call on Linux), while a reporter cuts and acknowledges a batch
// every 10ms.
func BenchmarkAdmit(b *testing.B) {
	for _, mode := range []string{"memory", "journal"} {
		for _, par := range []bool{false, true} {
			name := mode
			if par {
				name += "/parallel"
			}
			b.Run(name, func(b *testing.B) {
				dir := ""
				if mode == "journal" {
					dir = b.TempDir()
				}
				l, err := New(dir, "bench", func() int64 { return 1 }, zerolog.Nop())
				if err != nil {
					b.Fatal(err)
				}
				stop := benchReporter(l)
				defer stop()
				hits := []composition.Hit{{MetricID: 2, Delta: 1}, {MetricID: 1, Delta: 1}}
				now := time.Now()
				minute, _ := composition.PeriodBounds("minute", now)
				day, _ := composition.PeriodBounds("day", now)
				decide := func(cur composition.Counter) bool {
					return cur(7, 1, "minute", minute) < 1<<62 && cur(7, 1, "day", day) < 1<<62
				}
				b.ReportAllocs()
				if !par {
					for b.Loop() {
						if err := l.Admit(7, hits, now, decide); err != nil {
							b.Fatal(err)
						}
					}
					return
				}
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := l.Admit(7, hits, now, decide); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		}
	}
}

// benchReporter cuts, spools and acknowledges as the reporter would.
func benchReporter(l *Ledger) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			l.cut()
			l.prepare()
			l.persistAll()
			l.mu.Lock()
			spool := append([]*spoolBatch(nil), l.spool...)
			l.mu.Unlock()
			for _, sb := range spool {
				l.acked(sb, nil, time.Now())
			}
		}
	}()
	return func() { cancel(); wg.Wait() }
}
