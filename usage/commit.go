package usage

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/portolan/portolan/composition"
)

const (
	maxGroup        = 256   // commits folded into one bbolt transaction
	maxPruneDeletes = 20000 // keys one prune pass deletes, to bound its transaction
)

// usageCommit is one unit of the group commit: an optional batch id and the
// increments applied with it.
type usageCommit struct {
	batchID string
	service int64
	incs    []Increment
	at      time.Time
	dup     bool // set by run: the batch id was already there
	done    chan error
}

// commit hands c to the committer and waits for its transaction. Once handed
// over it always waits: the outcome must be known, whatever ctx says.
func (s *Store) commit(ctx context.Context, c *usageCommit) error {
	c.done = make(chan error, 1)
	select {
	case s.reqs <- c:
	case <-ctx.Done():
		return fmt.Errorf("usage not committed: %w", ctx.Err())
	case <-s.quit:
		return errClosed
	}
	return <-c.done
}

// run commits what callers hand over, folding every commit waiting at the
// time into one transaction, and prunes old batch ids and minute counters.
//
// This is the group commit. There is no wait timer: a lone caller is
// committed at once, and callers that arrive while a transaction is being
// written and fsynced queue (blocked on the unbuffered reqs, which is the
// backpressure: nothing piles up in memory beyond the callers themselves)
// and are all taken into the next one, up to maxGroup. bbolt holds its
// writer lock through the fsync, so the next transaction cannot start
// before the previous one is on disk; what overlaps the fsync is the
// queueing. The latency this costs a caller (for authrep, the time from
// its decision to the answer): alone, one commit (two fdatasyncs: bbolt's
// pages, then its meta page); under load, the rest of the commit in
// flight plus its own, so p50 ≈ 1.5 commits and p99 ≈ 2 commits plus the
// writing of a full group. In exchange one fsync carries the whole group,
// so the durable rate grows with concurrency instead of being one commit
// at a time. BenchmarkAuthrepVsAuthorizeHTTP reports both percentiles.
func (s *Store) run() {
	defer close(s.done)
	prune := time.NewTicker(10 * time.Minute)
	defer prune.Stop()
	s.prune(time.Now())
	for {
		select {
		case <-s.quit:
			return
		case now := <-prune.C:
			s.prune(now)
		case c := <-s.reqs:
			group := []*usageCommit{c}
		more:
			for len(group) < maxGroup {
				select {
				case c := <-s.reqs:
					group = append(group, c)
				default:
					break more
				}
			}
			err := s.db.Update(func(tx *bolt.Tx) error { return writeGroup(tx, group) })
			if err != nil {
				err = fmt.Errorf("commit usage to %s: %w", File, err)
			}
			for _, c := range group {
				c.done <- err
			}
		}
	}
}

// counterSum is one counter a group adds to: its bucket and key.
type counterSum struct {
	service bool // service_counters, else app_counters
	key     [25]byte
}

// writeGroup writes the commits of a group in tx, in order: a batch id seen
// before (on disk or earlier in the group) marks its commit duplicate and
// writes nothing of it. The increments of the others are summed per counter
// first, saturating, so a counter the whole group adds to (every authrep of
// one application) is read and written once per transaction, not once per
// commit.
func writeGroup(tx *bolt.Tx, group []*usageCommit) error {
	sums := map[counterSum]int64{}
	links := map[int64]int64{} // application → service, the last commit's
	for _, c := range group {
		dup, err := recordBatchID(tx, c)
		if err != nil {
			return err
		}
		c.dup = dup
		if dup {
			continue
		}
		for _, in := range c.incs {
			links[in.App] = c.service
			at := time.Unix(in.Minute*60, 0)
			for i, p := range composition.Periods {
				k := counterSum{key: counterKeyOf(byte(i), periodStart(p, at), in.App, in.Metric)}
				sums[k] = composition.AddSaturating(sums[k], in.Delta)
			}
			for _, p := range analyticsPeriods {
				k := counterSum{service: true, key: counterKeyOf(periodIndex[p], periodStart(p, at), c.service, in.Metric)}
				sums[k] = composition.AddSaturating(sums[k], in.Delta)
			}
		}
	}
	if err := writeLinks(tx.Bucket(bucketAppService), links); err != nil {
		return err
	}
	keys := make([]counterSum, 0, len(sums))
	for k := range sums {
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
		if err := addCounter(b, k.key[:], sums[k]); err != nil {
			return err
		}
	}
	return nil
}

// recordBatchID records c's batch id in tx, reporting duplicate when it was
// already there; a commit without one is never a duplicate.
func recordBatchID(tx *bolt.Tx, c *usageCommit) (duplicate bool, err error) {
	if c.batchID == "" {
		return false, nil
	}
	batches := tx.Bucket(bucketBatches)
	if batches.Get([]byte(c.batchID)) != nil {
		return true, nil
	}
	at := make([]byte, 8)
	binary.BigEndian.PutUint64(at, uint64(c.at.UnixNano()))
	if err := batches.Put([]byte(c.batchID), at); err != nil {
		return false, err
	}
	return false, tx.Bucket(bucketBatchTimes).Put(append(at, c.batchID...), nil)
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
	buf := make([]byte, 8)
	binary.BigEndian.PutUint64(buf, uint64(composition.AddSaturating(v, delta)))
	return b.Put(key, buf)
}

// prune forgets batch ids older than BatchRetention and minute counters older
// than MinuteRetention, a bounded number per pass.
func (s *Store) prune(now time.Time) {
	var batches, minutes int
	err := s.db.Update(func(tx *bolt.Tx) error {
		times, ids := tx.Bucket(bucketBatchTimes), tx.Bucket(bucketBatches)
		var before [8]byte
		binary.BigEndian.PutUint64(before[:], uint64(now.Add(-BatchRetention).UnixNano()))
		c := times.Cursor()
		for k, _ := c.First(); k != nil && bytes.Compare(k[:8], before[:]) < 0 && batches < maxPruneDeletes; k, _ = c.Next() {
			if err := ids.Delete(k[8:]); err != nil {
				return err
			}
			if err := c.Delete(); err != nil {
				return err
			}
			batches++
		}
		minute := periodIndex["minute"]
		end := counterKey(minute, now.Add(-MinuteRetention).Unix(), 0, 0)
		c = tx.Bucket(bucketAppCounters).Cursor()
		for k, _ := c.Seek([]byte{minute}); k != nil && bytes.Compare(k, end) < 0 && minutes < maxPruneDeletes; k, _ = c.Next() {
			if err := c.Delete(); err != nil {
				return err
			}
			minutes++
		}
		return nil
	})
	if err != nil {
		s.log.Error().Err(err).Msg("pruning the usage store failed")
		return
	}
	if batches+minutes > 0 {
		s.log.Debug().Int("batch_ids", batches).Int("minute_counters", minutes).Msg("pruned the usage store")
	}
}
