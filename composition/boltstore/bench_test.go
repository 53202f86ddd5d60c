package boltstore_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/composition/boltstore"
)

// BenchmarkBoltWrite measures one acknowledged write: an Update creating a
// metric, persisted in one fsynced bbolt transaction.
func BenchmarkBoltWrite(b *testing.B) {
	s, err := boltstore.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	svc := &composition.Service{Name: "Bench"}
	if _, err := s.Update(context.Background(), func(tx *composition.Tx) error { return tx.Create(svc) }); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
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
}
