package usage

import (
	"errors"
	"fmt"
	"os"

	bolt "go.etcd.io/bbolt"
)

// replayWAL brings usage.db up to the write-ahead log at Open: the records
// after the last one usage.db holds are applied in one transaction (with
// that record's sequence number, so a crash during it replays them again
// and nothing twice), then the closed segments are removed and the live log
// emptied. A torn record at the end of the live log was never acknowledged
// and is dropped; anything else that does not decode is an error naming the
// file and the offset. It returns the next sequence number.
func (s *Store) replayWAL() (uint64, error) {
	var applied uint64
	if err := s.db.View(func(tx *bolt.Tx) error { applied = appliedSeq(tx); return nil }); err != nil {
		return 0, err
	}
	segs, err := closedSegments(s.wal.dir)
	if err != nil {
		return 0, err
	}
	files := make([]string, 0, len(segs)+1)
	for _, seg := range segs {
		files = append(files, seg.path)
	}
	files = append(files, s.wal.livePath())
	p := newPending(applied)
	var last uint64 // the last record read
	for i, path := range files {
		data, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) && i == len(files)-1 {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("read %s: %w", path, err)
		}
		recs, end, err := scanWAL(data)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", path, err)
		}
		if end < len(data) {
			if i < len(files)-1 {
				return 0, fmt.Errorf("%s: record at offset %d is cut short, in a segment that was synced whole", path, end)
			}
			if err := truncateTail(path, end); err != nil {
				return 0, err
			}
			s.log.Warn().Str("file", path).Int("offset", end).Int("bytes", len(data)-end).
				Msg("dropped a torn record at the end of the usage log: a write cut by a crash, never acknowledged")
		}
		for _, rec := range recs {
			if last != 0 && rec.seq != last+1 {
				return 0, fmt.Errorf("%s: record %d follows record %d: records are missing", path, rec.seq, last)
			}
			if last == 0 && rec.seq > applied+1 {
				return 0, fmt.Errorf("%s: the log starts at record %d, usage.db holds up to %d: records are missing", path, rec.seq, applied)
			}
			last = rec.seq
			if rec.seq > applied {
				if err := s.foldReplayed(p, rec); err != nil {
					return 0, err
				}
			}
		}
	}
	if p.records > 0 {
		if err := s.db.Update(p.write); err != nil {
			return 0, fmt.Errorf("apply the usage log to %s: %w", File, err)
		}
		s.log.Info().Int("records", p.records).Uint64("through", p.upto).Msg("replayed the usage log")
	}
	if err := removeSegments(s.wal.dir, p.upto); err != nil {
		return 0, err
	}
	return max(applied, last) + 1, nil
}

// foldReplayed folds a replayed record into p. Batch ids were unique when
// written; one already in p or in usage.db is skipped all the same.
func (s *Store) foldReplayed(p *pending, rec walRecord) error {
	for _, c := range rec.commits {
		if c.batchID != "" {
			if _, ok := p.batches[c.batchID]; ok {
				continue
			}
			seen, err := s.batchInDB(c.batchID)
			if err != nil {
				return err
			}
			if seen {
				continue
			}
		}
		p.add(c)
	}
	p.upto = rec.seq
	p.records++
	return nil
}

// batchInDB reports whether usage.db holds the batch id.
func (s *Store) batchInDB(id string) (bool, error) {
	var seen bool
	err := s.db.View(func(tx *bolt.Tx) error {
		seen = tx.Bucket(bucketBatches).Get([]byte(id)) != nil
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("read batch ids: %w", err)
	}
	return seen, nil
}

// truncateTail cuts a torn record off the end of the live log, durably.
func truncateTail(path string, end int) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	if err := f.Truncate(int64(end)); err != nil {
		return fmt.Errorf("truncate %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	return nil
}
