package usage

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
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
			err := s.db.Update(func(tx *bolt.Tx) error {
				for _, c := range group {
					dup, err := writeCommit(tx, c)
					if err != nil {
						return err
					}
					c.dup = dup
				}
				return nil
			})
			if err != nil {
				err = fmt.Errorf("commit usage to %s: %w", File, err)
			}
			for _, c := range group {
				c.done <- err
			}
		}
	}
}

// writeCommit writes one commit in tx; a known batch id writes nothing.
func writeCommit(tx *bolt.Tx, c *usageCommit) (duplicate bool, err error) {
	if c.batchID != "" {
		batches := tx.Bucket(bucketBatches)
		if batches.Get([]byte(c.batchID)) != nil {
			return true, nil
		}
		at := make([]byte, 8)
		binary.BigEndian.PutUint64(at, uint64(c.at.UnixNano()))
		if err := batches.Put([]byte(c.batchID), at); err != nil {
			return false, err
		}
		if err := tx.Bucket(bucketBatchTimes).Put(append(at, c.batchID...), nil); err != nil {
			return false, err
		}
	}
	apps, svcs, links := tx.Bucket(bucketAppCounters), tx.Bucket(bucketServiceCounters), tx.Bucket(bucketAppService)
	var idb, svcb [8]byte
	binary.BigEndian.PutUint64(svcb[:], uint64(c.service))
	for _, in := range c.incs {
		binary.BigEndian.PutUint64(idb[:], uint64(in.App))
		if v := links.Get(idb[:]); !bytes.Equal(v, svcb[:]) {
			if err := links.Put(idb[:], svcb[:]); err != nil {
				return false, err
			}
		}
		at := time.Unix(in.Minute*60, 0)
		for i, p := range composition.Periods {
			if err := addCounter(apps, counterKey(byte(i), periodStart(p, at), in.App, in.Metric), in.Delta); err != nil {
				return false, err
			}
		}
		for _, p := range analyticsPeriods {
			k := counterKey(periodIndex[p], periodStart(p, at), c.service, in.Metric)
			if err := addCounter(svcs, k, in.Delta); err != nil {
				return false, err
			}
		}
	}
	return false, nil
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
