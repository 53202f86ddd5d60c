package usage

import (
	"bytes"
	"encoding/binary"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/portolan/portolan/composition"
)

// pending is usage the write-ahead log made durable and usage.db does not
// hold yet: the sums of the records up to upto, per counter, and their
// batch ids and application links. It is what one checkpoint writes, and
// what reads of usage.db add to what they find there (the overlay).
type pending struct {
	upto    uint64 // the last record folded in
	records int
	sums    map[counterSum]int64
	batches map[string]int64 // batch id → applied at, unix ns
	links   map[int64]int64  // application → service, the last commit's
}

// counterSum names one counter: its bucket and key.
type counterSum struct {
	service bool // service_counters, else app_counters
	key     [25]byte
}

func newPending(upto uint64) *pending {
	return &pending{upto: upto, sums: map[counterSum]int64{}, batches: map[string]int64{}, links: map[int64]int64{}}
}

// add folds one commit in, saturating: every period of its applications'
// counters and the analytics periods of its service's.
func (p *pending) add(c *usageCommit) {
	if c.batchID != "" {
		p.batches[c.batchID] = c.at.UnixNano()
	}
	for _, in := range c.incs {
		p.links[in.App] = c.service
		at := time.Unix(in.Minute*60, 0)
		for i, per := range composition.Periods {
			k := counterSum{key: counterKeyOf(byte(i), periodStart(per, at), in.App, in.Metric)}
			p.sums[k] = composition.AddSaturating(p.sums[k], in.Delta)
		}
		for _, per := range analyticsPeriods {
			k := counterSum{service: true, key: counterKeyOf(periodIndex[per], periodStart(per, at), c.service, in.Metric)}
			p.sums[k] = composition.AddSaturating(p.sums[k], in.Delta)
		}
	}
}

// write writes p in tx: its batch ids, links and counters, and upto as
// the last record usage.db holds, so a replay starts after it.
func (p *pending) write(tx *bolt.Tx) error {
	batches, times := tx.Bucket(bucketBatches), tx.Bucket(bucketBatchTimes)
	for id, at := range p.batches {
		if err := batches.Put([]byte(id), u64(uint64(at))); err != nil {
			return err
		}
		if err := times.Put(append(u64(uint64(at)), id...), nil); err != nil {
			return err
		}
	}
	if err := writeLinks(tx.Bucket(bucketAppService), p.links); err != nil {
		return err
	}
	keys := make([]counterSum, 0, len(p.sums))
	for k := range p.sums {
		keys = append(keys, k)
	}
	// In key order: bbolt's pages are then visited once each, in order.
	slices.SortFunc(keys, func(a, b counterSum) int {
		if a.service != b.service {
			if a.service {
				return 1
			}
			return -1
		}
		return bytes.Compare(a.key[:], b.key[:])
	})
	apps, svcs := tx.Bucket(bucketAppCounters), tx.Bucket(bucketServiceCounters)
	for _, k := range keys {
		b := apps
		if k.service {
			b = svcs
		}
		if err := addCounter(b, k.key[:], p.sums[k]); err != nil {
			return err
		}
	}
	return tx.Bucket(bucketWAL).Put(keyApplied, u64(p.upto))
}

// appliedSeq is the last WAL record usage.db holds.
func appliedSeq(tx *bolt.Tx) uint64 {
	if v := tx.Bucket(bucketWAL).Get(keyApplied); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

// writeLinks records each application's service where it changed.
func writeLinks(b *bolt.Bucket, links map[int64]int64) error {
	for app, svc := range links {
		var idb, svcb [8]byte
		binary.BigEndian.PutUint64(idb[:], uint64(app))
		binary.BigEndian.PutUint64(svcb[:], uint64(svc))
		if v := b.Get(idb[:]); !bytes.Equal(v, svcb[:]) {
			if err := b.Put(idb[:], svcb[:]); err != nil {
				return err
			}
		}
	}
	return nil
}

func addCounter(b *bolt.Bucket, key []byte, delta int64) error {
	var v int64
	if old := b.Get(key); len(old) == 8 {
		v = int64(binary.BigEndian.Uint64(old))
	}
	return b.Put(key, u64(uint64(composition.AddSaturating(v, delta))))
}

// readCounters reads counters as acknowledged: usage.db's values plus the
// pending usage not checkpointed into it. The pending parts are copied
// first, then usage.db is read: a part whose records the file already holds
// (its upto at or below the file's applied sequence, because a checkpoint
// ran in between) is not added twice, and usage acknowledged before the
// call is in the file or in a part, never in neither.
func (s *Store) readCounters(keys []counterSum) ([]int64, error) {
	type part struct {
		upto uint64
		vals []int64
	}
	var parts []part
	s.ovMu.Lock()
	for _, p := range []*pending{s.sealed, s.open} {
		if p == nil || len(p.sums) == 0 {
			continue
		}
		vals := make([]int64, len(keys))
		for i, k := range keys {
			vals[i] = p.sums[k]
		}
		parts = append(parts, part{p.upto, vals})
	}
	s.ovMu.Unlock()
	out := make([]int64, len(keys))
	err := s.db.View(func(tx *bolt.Tx) error {
		applied := appliedSeq(tx)
		apps, svcs := tx.Bucket(bucketAppCounters), tx.Bucket(bucketServiceCounters)
		for i, k := range keys {
			b := apps
			if k.service {
				b = svcs
			}
			if v := b.Get(k.key[:]); len(v) == 8 {
				out[i] = int64(binary.BigEndian.Uint64(v))
			}
			for _, p := range parts {
				if p.upto > applied {
					out[i] = composition.AddSaturating(out[i], p.vals[i])
				}
			}
		}
		return nil
	})
	return out, err
}
