// Package storetest holds what the composition stores' tests share: the
// group-commit properties both stores keep and the concurrent-writers
// benchmark both run (boltstore, consulstore).
//
// It is imported by tests only, and imports nothing of Portolan but
// composition.
package storetest

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portolan/portolan/composition"
)

// Update is a store's Update, or its Head's (one transaction per write).
type Update func(ctx context.Context, fn func(*composition.Tx) error) (*composition.Snapshot, error)

// Writers creates b.N metrics of one service through update from writers
// goroutines at once, each write acknowledged on its own, and reports
// writes/s and each write's p50 and p99. The service is created first,
// through setup, outside the timing.
func Writers(b *testing.B, writers int, setup, update Update) {
	b.Helper()
	ctx := context.Background()
	svc := &composition.Service{Name: "Bench"}
	if _, err := setup(ctx, func(tx *composition.Tx) error { return tx.Create(svc) }); err != nil {
		b.Fatal(err)
	}
	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	for range writers {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(b.N); i = next.Add(1) - 1 {
				t0 := time.Now()
				_, err := update(ctx, func(tx *composition.Tx) error {
					return tx.Create(&composition.Metric{OwnerType: composition.OwnerService, OwnerID: svc.ID,
						FriendlyName: "m" + strconv.FormatInt(i, 10), Unit: "unit"})
				})
				if err != nil {
					b.Error(err)
					return
				}
				lat[i] = time.Since(t0)
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
	b.ReportMetric(float64(lat[b.N/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[min(b.N-1, b.N*99/100)].Microseconds()), "p99-µs")
}
