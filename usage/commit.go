package usage

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"
)

// maxGroup bounds the commits of one group (one record, one fdatasync);
// walSyncers is how many fdatasyncs of the log may run at once.
const (
	maxGroup   = 1024
	walSyncers = 4
)

// usageCommit is one unit of the group commit: an optional batch id and the
// increments applied with it.
type usageCommit struct {
	batchID string
	service int64
	incs    []Increment
	at      time.Time
	dup     bool // set by the writer: the batch id was already there
	done    chan error
}

// commit hands c to the writer and waits for the fsync that covers it. Once
// handed over it always waits: the outcome must be known, whatever ctx says.
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

// walGroup is a group handed from the writer to a syncer: its commits
// (duplicates too: they are answered with the group, once what they
// duplicate is durable), and the record they were written as.
type walGroup struct {
	commits []*usageCommit
	f       *os.File // nil: no record, every commit was a duplicate
	seq     uint64
	n       uint64 // groups handed over before this one: its place in the answers
	err     error  // the write failed: answer every commit with it
	durable bool   // its record, or the lack of one, is on disk (Store.ackMu)
}

// stagedGroup is the group the writer gathers while every syncer is busy.
type stagedGroup struct {
	commits []*usageCommit
	rec     []byte // header space, then the payload of the commits not duplicate
	written int    // commits in rec
}

func (g *stagedGroup) full() bool {
	return len(g.commits) >= maxGroup || len(g.rec) >= walGroupBytes
}

// run is the writer of the group commit, and syncLoop its syncers: together
// a pipeline over usage.wal.
//
// The writer takes what callers hand over and stages it: batch ids are
// checked (the log's in-flight and pending ids, then usage.db's), the
// commits encoded into the group's record. As soon as a syncer is free the
// staged group is written, one append, and handed over; while the syncers'
// fdatasyncs run, the next group gathers every commit that arrives, up to
// maxGroup commits or walGroupBytes (then callers wait on the unbuffered
// reqs: the backpressure). Up to walSyncers fdatasyncs run at once: a group
// does not wait for the fdatasync before it to end, only for its own (on
// this machine's virtual disk, a quick test found overlapping fdatasyncs of
// one file no slower than a lone one). A syncer fdatasyncs its group, and a
// successful fdatasync makes durable every group written before it too,
// their records being in the same file ahead of it: a group whose own
// fdatasync is slow is answered as soon as a later one ends. Then, in the
// order the groups were written, the syncer folds every durable group into
// the pending usage reads see, frees itself and answers their callers:
// nothing is acknowledged before an fdatasync that began after its record
// was written, nor before the groups written ahead of it. There is no wait
// timer: a lone caller is written and synced at once. usage.db gets the
// log's contents in the background (checkpointLoop): bbolt's writer lock and
// its two fsyncs a transaction (~4.8 ms a commit under load, against ~1.4 ms
// for an append and an fdatasync) are off every caller's path.
//
// The latency this costs a caller (for authrep, the time from its decision
// to the answer): alone, one append and one fdatasync; under load, the wait
// for a free syncer, if all are busy, plus one fdatasync, so p50 ≈ 1–1.5
// fdatasyncs and p99 ≈ 2 plus the encoding of a full group and the stalls of
// a disk shared with the checkpoint. BenchmarkAuthrepVsAuthorizeHTTP (32
// clients, one run of 2000 calls each on the 2-core machine at a load
// average of 20–36, indicative only): authrep p50 2.8 ms and p99 14 ms
// against authorize's 1.2 ms and 6.1 ms, 9.1k against 20.4k decisions/s
// (0.45×); with one syncer, the same run gave p50 2.6 ms, p99 54 ms, 0.26×.
// The bound is Little's law: 32 clients each waiting authorize's time plus
// an fdatasync (1–3 ms on this disk) cannot reach 0.8× authorize's pace
// unless the fdatasync is under a quarter of authorize's latency. Answering
// the groups a later fdatasync covers (rather than each after its own)
// changed nothing measurable on 2026-12-05 (interleaved runs, 32 and 256
// clients): presumably this disk ends overlapping fdatasyncs of one file in
// the order they began. It is kept for disks that do not.
func (s *Store) run() {
	defer close(s.done)
	toSync := make(chan *walGroup, walSyncers)
	idle := make(chan struct{}, walSyncers) // a token per syncer waiting for work
	var syncers sync.WaitGroup
	for range walSyncers {
		syncers.Add(1)
		go func() { defer syncers.Done(); s.syncLoop(toSync, idle) }()
	}
	st := &stagedGroup{rec: make([]byte, walHeaderLen, 4096)}
	free := walSyncers
	for {
		reqs := s.reqs
		if st.full() {
			reqs = nil
		}
		select {
		case <-s.quit:
			if len(st.commits) > 0 {
				if free == 0 {
					<-idle
				}
				s.handOff(st, toSync)
			}
			close(toSync)
			syncers.Wait()
			return
		case c := <-reqs:
			s.stage(st, c)
		more:
			for !st.full() {
				select {
				case c := <-s.reqs:
					s.stage(st, c)
				default:
					break more
				}
			}
			if free > 0 && len(st.commits) > 0 {
				s.handOff(st, toSync)
				free--
			}
		case <-idle:
			free++
			if len(st.commits) > 0 {
				s.handOff(st, toSync)
				free--
			}
		case reply := <-s.rotateReq:
			for ; free < walSyncers; free++ {
				<-idle
			}
			err := s.wal.rotate()
			if err != nil {
				s.fail(err)
			}
			reply <- err
			// The idle tokens taken above were what would have woken the
			// writer for a group staged meanwhile: hand it off now, or its
			// callers wait until another commit comes. After a failed
			// rotation handOff answers it with the failure.
			if len(st.commits) > 0 {
				s.handOff(st, toSync)
				free--
			}
		}
	}
}

// stage adds c to the staged group, or answers it at once when the log has
// failed or c cannot be written.
func (s *Store) stage(st *stagedGroup, c *usageCommit) {
	if err := s.failure(); err != nil {
		c.done <- err
		return
	}
	if c.batchID != "" {
		dup, err := s.claimBatch(c.batchID)
		if err != nil {
			c.done <- err
			return
		}
		c.dup = dup
	}
	if !c.dup {
		n := len(st.rec)
		st.rec = appendCommit(st.rec, c)
		if len(st.rec)-n > maxCommitBytes {
			st.rec = st.rec[:n]
			s.releaseBatches([]*usageCommit{c})
			c.done <- fmt.Errorf("usage of %d increments is over the %d-byte limit of one log record", len(c.incs), maxCommitBytes)
			return
		}
		st.written++
	}
	st.commits = append(st.commits, c)
}

// handOff writes the staged group's record, when it has one, and hands the
// group to a free syncer.
func (s *Store) handOff(st *stagedGroup, toSync chan<- *walGroup) {
	g := &walGroup{commits: st.commits, n: s.handed}
	s.handed++
	if st.written > 0 {
		if g.err = s.failure(); g.err == nil {
			sealRecord(st.rec, s.wal.next)
			if _, err := s.wal.f.Write(st.rec); err != nil {
				g.err = fmt.Errorf("append to %s: %w", s.wal.livePath(), err)
				s.fail(g.err)
			} else {
				g.f, g.seq = s.wal.f, s.wal.next
				s.wal.next++
				s.wal.size.Add(int64(len(st.rec)))
			}
		}
	}
	s.ackMu.Lock()
	s.unanswered = append(s.unanswered, g)
	s.ackMu.Unlock()
	toSync <- g
	st.commits, st.rec, st.written = nil, st.rec[:walHeaderLen], 0
}

// syncLoop is a syncer (see run). Syncers fdatasync concurrently; the
// groups are answered in the order they were handed over, each once it is
// durable, so a failure is known before any later group is acknowledged. A
// failed fdatasync fails the log: every group not durable by then is
// answered with the failure, and no later fdatasync vouches for anything
// (after a failure the kernel may have dropped the dirty pages it could not
// write, and report the next fdatasync a success).
func (s *Store) syncLoop(in <-chan *walGroup, idle chan<- struct{}) {
	for g := range in {
		var syncErr error
		if g.err == nil && g.f != nil {
			syncErr = s.cfg.sync(g.f)
		}
		s.ackMu.Lock()
		switch {
		case syncErr != nil:
			s.fail(fmt.Errorf("sync %s: %w", WALFile, syncErr))
		case g.err == nil && s.failure() == nil:
			g.durable = true
			if g.f != nil {
				for _, h := range s.unanswered {
					if h.n < g.n && h.f == g.f {
						h.durable = true
					}
				}
			}
		}
		answered, kick := s.answerLocked()
		s.ackMu.Unlock()
		idle <- struct{}{}
		for _, h := range answered {
			for _, c := range h.commits {
				c.done <- h.err
			}
		}
		if kick {
			select {
			case s.ckKick <- struct{}{}:
			default:
			}
		}
	}
}

// answerLocked takes the groups that can be answered off the front of
// unanswered, in order: the durable ones, and once the log failed every
// other, with the failure as its error (set in each group's err). It folds
// the durable ones into the pending usage and reports whether enough
// records are pending for a checkpoint. ackMu is held.
func (s *Store) answerLocked() (answered []*walGroup, kick bool) {
	failure := s.failure()
	for len(s.unanswered) > 0 {
		h := s.unanswered[0]
		if !h.durable && failure == nil {
			break
		}
		if !h.durable && h.err == nil {
			h.err = failure
		}
		s.unanswered[0] = nil
		s.unanswered = s.unanswered[1:]
		answered = append(answered, h)
	}
	if len(answered) == 0 {
		return nil, false
	}
	s.ovMu.Lock()
	defer s.ovMu.Unlock()
	for _, h := range answered {
		for _, c := range h.commits {
			if c.dup {
				continue
			}
			if c.batchID != "" {
				delete(s.inflight, c.batchID)
			}
			if h.err == nil {
				s.open.add(c)
			}
		}
		if h.err == nil && h.f != nil {
			s.open.upto = h.seq
			s.open.records++
		}
	}
	return answered, s.open.records >= s.cfg.checkpointRecords
}

// claimBatch reports whether a batch id was applied before: in flight, in
// the pending usage, or in usage.db. When it was not, it is in flight from
// then on. The memory is looked at first: an id leaves it only once a
// checkpoint put it in usage.db.
func (s *Store) claimBatch(id string) (duplicate bool, err error) {
	s.ovMu.Lock()
	_, seen := s.inflight[id]
	for _, p := range []*pending{s.sealed, s.open} {
		if p != nil && !seen {
			_, seen = p.batches[id]
		}
	}
	if !seen {
		s.inflight[id] = struct{}{}
	}
	s.ovMu.Unlock()
	if seen {
		return true, nil
	}
	seen, err = s.batchInDB(id)
	if err != nil || seen {
		s.ovMu.Lock()
		delete(s.inflight, id)
		s.ovMu.Unlock()
	}
	return seen, err
}

// releaseBatches forgets the in-flight batch ids of commits not written.
func (s *Store) releaseBatches(commits []*usageCommit) {
	s.ovMu.Lock()
	defer s.ovMu.Unlock()
	for _, c := range commits {
		if !c.dup && c.batchID != "" {
			delete(s.inflight, c.batchID)
		}
	}
}

// fail makes the log refuse every later commit: after a failed append or
// fdatasync, what the file holds is not known any more.
func (s *Store) fail(err error) {
	if s.failed.CompareAndSwap(nil, &err) {
		s.log.Error().Err(err).Msg("the usage log failed; usage is refused until home restarts")
	}
}

// Err returns why the log refuses usage, nil while it takes it: once it
// failed only a restart brings it back, so home's readiness names it rather
// than let every batch be refused behind a probe that says ok.
func (s *Store) Err() error { return s.failure() }

func (s *Store) failure() error {
	if p := s.failed.Load(); p != nil {
		return fmt.Errorf("usage log failed earlier: %w", *p)
	}
	return nil
}
