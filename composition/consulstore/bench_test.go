package consulstore_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/composition/storetest"
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
			storetest.Writers(b, tc.writers, s.Update, update)
		})
	}
}

// BenchmarkConsulLargeRevision is one write creating n metrics, more than
// one Consul transaction takes, committed staged (staged.go): staged in
// transactions of 64, committed, copied in transactions of 63, cleared.
// Its baseline in the same run, n=63, is one transaction.
func BenchmarkConsulLargeRevision(b *testing.B) {
	for _, n := range []int{63, 1000, 10000} {
		b.Run("n="+strconv.Itoa(n), func(b *testing.B) {
			s := open(b, newClient(b, testenv.StartConsul(b)))
			ctx := context.Background()
			svc := &composition.Service{Name: "Bench"}
			if _, err := s.Update(ctx, func(tx *composition.Tx) error { return tx.Create(svc) }); err != nil {
				b.Fatal(err)
			}
			round := 0
			for b.Loop() {
				round++
				_, err := s.Update(ctx, func(tx *composition.Tx) error {
					for i := range n {
						if err := tx.Create(&composition.Metric{OwnerType: composition.OwnerService, OwnerID: svc.ID,
							FriendlyName: "m" + strconv.Itoa(round) + "-" + strconv.Itoa(i), Unit: "unit"}); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entities/s")
		})
	}
}
