package usage

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A checkpoint writes the usage the log made durable into usage.db, in one
// transaction, every checkpointInterval or once checkpointRecords records
// are pending, whichever comes first.
const (
	checkpointInterval = time.Second
	checkpointRecords  = 8192
	maxPruneDeletes    = 20000 // keys one prune pass deletes, to bound its transaction
	pruneInterval      = 10 * time.Minute
)

// checkpointLoop checkpoints and prunes until stop is closed; the first
// prune comes with the first checkpoint.
func (s *Store) checkpointLoop(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	tick := time.NewTicker(s.cfg.checkpointEvery)
	defer tick.Stop()
	prune := time.NewTicker(pruneInterval)
	defer prune.Stop()
	pruned := false
	failing := false
	for {
		select {
		case <-stop:
			return
		case now := <-prune.C:
			s.prune(now)
			continue
		case <-tick.C:
		case <-s.ckKick:
		}
		if !pruned {
			s.prune(time.Now()) // checkpoints first
			pruned = true
		}
		if err := s.checkpoint(true); err != nil {
			if !failing {
				s.log.Error().Err(err).Msg("checkpointing the usage log failed; retrying every second, the log grows meanwhile")
			}
			failing = true
		} else if failing {
			s.log.Info().Msg("checkpointing the usage log works again")
			failing = false
		}
	}
}

// checkpoint writes the pending usage into usage.db with the sequence
// number of its last record, then removes the closed log segments usage.db
// now holds. With rotate, a live log past walRotateBytes is rotated first,
// so its records are in this checkpoint and the segment goes at once. Reads see
// the pending usage until the transaction is committed (readCounters), the
// batch ids too (claimBatch).
func (s *Store) checkpoint(rotate bool) error {
	s.ckMu.Lock()
	defer s.ckMu.Unlock()
	if rotate && s.wal.size.Load() >= s.cfg.rotateBytes {
		if err := s.rotateLog(); err != nil {
			return err
		}
	}
	s.ovMu.Lock()
	if s.sealed == nil { // else the last checkpoint failed: its part goes first
		if s.open.records == 0 {
			s.ovMu.Unlock()
			return nil
		}
		s.sealed, s.open = s.open, newPending(s.open.upto)
	}
	p := s.sealed
	s.ovMu.Unlock()
	if err := s.db.Update(p.write); err != nil {
		return fmt.Errorf("checkpoint the usage log into %s: %w", File, err)
	}
	s.ovMu.Lock()
	s.sealed = nil
	s.ovMu.Unlock()
	return removeSegments(s.wal.dir, p.upto)
}

// rotateLog has the writer rotate the live log between two groups.
func (s *Store) rotateLog() error {
	reply := make(chan error, 1)
	select {
	case s.rotateReq <- reply:
	case <-s.done:
		return errClosed
	}
	return <-reply
}

// prune forgets batch ids older than BatchRetention and minute counters older
// than MinuteRetention, a bounded number per pass, after a checkpoint so
// the pending ones are pruned too.
func (s *Store) prune(now time.Time) {
	if err := s.checkpoint(true); err != nil {
		s.log.Error().Err(err).Msg("checkpointing the usage log before pruning failed")
		return
	}
	var batches, minutes int
	err := s.db.Update(func(tx *bolt.Tx) error {
		times, ids := tx.Bucket(bucketBatchTimes), tx.Bucket(bucketBatches)
		// A batch re-sent BatchRetention after it was applied is still
		// valid while its minutes are not older than that (ValidateBatch),
		// and they may be up to MaxFutureMinute ahead of home's clock: its
		// id is kept as long.
		var before [8]byte
		binary.BigEndian.PutUint64(before[:], uint64(now.Add(-BatchRetention-MaxFutureMinute).UnixNano()))
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
