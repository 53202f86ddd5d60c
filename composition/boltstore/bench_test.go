package boltstore_test

import (
	"context"
	"encoding/binary"
	"path/filepath"
	"strconv"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/composition/boltstore"
	"github.com/portolan/portolan/composition/storetest"
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
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
}

// BenchmarkBaselineBoltRawPut is BenchmarkBoltWrite's baseline in the same run:
// bbolt alone, one fsynced transaction putting one entity-sized value.
func BenchmarkBaselineBoltRawPut(b *testing.B) {
	db, err := bolt.Open(filepath.Join(b.TempDir(), "raw.db"), 0o600, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	val := make([]byte, 300)
	key := make([]byte, 8)
	b.ReportAllocs()
	for i := uint64(0); b.Loop(); i++ {
		binary.BigEndian.PutUint64(key, i)
		if err := db.Update(func(tx *bolt.Tx) error {
			bk, err := tx.CreateBucketIfNotExists([]byte("metrics"))
			if err != nil {
				return err
			}
			return bk.Put(key, val)
		}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBoltWriteWriters is BenchmarkBoltWrite from 1 and from 32
// concurrent writers: with 32, writes share group commits (one transaction,
// one fsync, a revision each). writes/s and each write's p50 and p99.
func BenchmarkBoltWriteWriters(b *testing.B) {
	for _, writers := range []int{1, 32} {
		b.Run("writers="+strconv.Itoa(writers), func(b *testing.B) {
			s, err := boltstore.Open(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			storetest.Writers(b, writers, s.Update, s.Update)
		})
	}
}
