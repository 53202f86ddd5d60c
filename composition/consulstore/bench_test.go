package consulstore_test

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/testenv"
)

// BenchmarkConsulWrite is boltstore's BenchmarkBoltWrite on Consul KV: one
// acknowledged write creating a metric, persisted as one Consul transaction
// (CAS on the meta key + the entity) on a dev agent on loopback. Run both in
// one command to compare: go test -bench 'BoltWrite|ConsulWrite' ./composition/...
// (a dev agent keeps its Raft log in memory: no fsync, unlike bbolt).
func BenchmarkConsulWrite(b *testing.B) {
	s := open(b, newClient(b, testenv.StartConsul(b)))
	ctx := context.Background()
	svc := &composition.Service{Name: "Bench"}
	if _, err := s.Update(ctx, func(tx *composition.Tx) error { return tx.Create(svc) }); err != nil {
		b.Fatal(err)
	}
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		i++
		_, err := s.Update(ctx, func(tx *composition.Tx) error {
			return tx.Create(&composition.Metric{OwnerType: composition.OwnerService, OwnerID: svc.ID,
				FriendlyName: "m" + strconv.Itoa(i), Unit: "unit"})
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
}

// BenchmarkConsulStoreWriters is BenchmarkConsulWrite from 1 and from 32
// concurrent writers: with 32, writes share group commits (one Consul
// transaction, a revision each). Its baseline in the same run,
// writers=32-unbatched, sends the same writes one transaction each, as the
// store did before group commit (Head.Update with the store's PersistFunc).
// writes/s and each write's p50 and p99.
func BenchmarkConsulStoreWriters(b *testing.B) {
	for _, tc := range []struct {
		name    string
		writers int
		grouped bool
	}{
		{"writers=1", 1, true},
		{"writers=32", 32, true},
		{"writers=32-unbatched", 32, false},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s := open(b, newClient(b, testenv.StartConsul(b)))
			update := s.Update
			if !tc.grouped {
				update = s.Head.Update
			}
			ctx := context.Background()
			svc := &composition.Service{Name: "Bench"}
			if _, err := s.Update(ctx, func(tx *composition.Tx) error { return tx.Create(svc) }); err != nil {
				b.Fatal(err)
			}
			lat := make([]time.Duration, b.N)
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ReportAllocs()
			b.ResetTimer()
			for range tc.writers {
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
		})
	}
}
