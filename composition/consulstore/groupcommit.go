package consulstore

import (
	"context"
	"errors"
	"time"

	"github.com/portolan/portolan/composition"
)

// maxGroup bounds the writes one group takes from the queue.
const maxGroup = 128

// write is one Update waiting for the committer.
type write struct {
	ctx  context.Context
	fn   func(*composition.Tx) error
	done chan writeResult // buffered: the committer never waits on a caller
}

type writeResult struct {
	snap     *composition.Snapshot
	err      error
	panicked any // fn's panic, raised again in the caller's goroutine
}

// Update implements composition.Store.Update with a group commit: writes
// that arrive while a transaction is in flight wait (on an unbuffered
// channel: backpressure, nothing queued beyond the callers) and are carried
// by the next one. A lone writer is committed at once, with no wait timer.
// Within a group each fn runs in arrival order on the composition the
// writes before it made, so each is validated against them and gets its own
// revision, one above the previous; a fn that fails fails alone. Each
// caller is answered once the transaction holding its write is committed;
// if it fails, every write in it fails. On *ErrConflict the store has loaded
// the newer composition before answering, so a retry sees it.
func (s *Store) Update(ctx context.Context, fn func(*composition.Tx) error) (*composition.Snapshot, error) {
	w := &write{ctx: ctx, fn: fn, done: make(chan writeResult, 1)}
	select {
	case s.writes <- w:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.quit:
		return nil, composition.ErrClosed
	}
	r := <-w.done // once handed over the outcome must be known, whatever ctx says
	if r.panicked != nil {
		panic(r.panicked)
	}
	return r.snap, r.err
}

// commitLoop takes every write waiting, commits them as one group, and
// starts again, until quit.
func (s *Store) commitLoop() {
	defer close(s.committed)
	for {
		select {
		case <-s.quit:
			return
		case w := <-s.writes:
			group := []*write{w}
		more:
			for len(group) < maxGroup {
				select {
				case w := <-s.writes:
					group = append(group, w)
				default:
					break more
				}
			}
			s.commitGroup(group)
		}
	}
}

// commitGroup runs the group's fns one on top of the other and commits the
// revisions they make in as few transactions as Consul's limits allow,
// answering each write once its transaction is committed.
func (s *Store) commitGroup(group []*write) {
	ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
	defer cancel()
	g := &groupCommit{s: s, ctx: ctx, base: s.Snapshot(), now: time.Now()}
	for _, w := range group {
		g.run(w)
	}
	g.flush()
}

// groupCommit is the state of one group while its writes run.
type groupCommit struct {
	s    *Store
	ctx  context.Context
	base *composition.Composition // what the next write runs on
	now  time.Time

	batch   txnBatch
	waiting []pending // answered when batch is committed (or fails)
	// failed ends the group: a transaction failed other than by a
	// conflict (Consul unreachable, or refusing it), and every write not
	// yet run fails with it rather than waiting for another try.
	failed error
}

// pending is a write answered when its batch is committed.
type pending struct {
	w    *write
	snap *composition.Snapshot
}

// run runs one write on g.base and adds the revision it makes to the batch,
// committing the batch first when the revision does not fit in it.
func (g *groupCommit) run(w *write) {
	if g.failed != nil {
		w.done <- writeResult{err: g.failed}
		return
	}
	if err := w.ctx.Err(); err != nil {
		w.done <- writeResult{err: err}
		return
	}
	tx := composition.NewTx(g.base, g.now)
	if p, err := runWrite(w.fn, tx); err != nil || p != nil {
		w.done <- writeResult{err: err, panicked: p}
		return
	}
	changes := tx.Changes()
	if len(changes) == 0 { // no revision: the state it saw, once that is stored
		g.waiting = append(g.waiting, pending{w: w, snap: g.base})
		return
	}
	r, err := g.s.encode(changes, tx.Result())
	if err != nil {
		w.done <- writeResult{err: err}
		return
	}
	if !g.batch.fits(r) {
		if err := g.flush(); err != nil {
			// w ran on the revisions that were not committed.
			w.done <- writeResult{err: err}
			return
		}
	}
	g.batch.add(r)
	g.waiting = append(g.waiting, pending{w: w, snap: r.next})
	g.base = r.next
}

// flush commits the batch and answers the writes waiting on it. On a
// conflict it loads the newer composition first, so the callers' retries
// and the group's next writes run on it; on any other failure the group
// stops.
func (g *groupCommit) flush() error {
	var err error
	if !g.batch.empty() {
		err = g.s.commit(g.ctx, &g.batch)
	}
	var conflict *ErrConflict
	switch {
	case err == nil:
		if !g.batch.empty() {
			g.s.Publish(g.batch.last)
		}
	case errors.As(err, &conflict):
		if rerr := g.s.reload(g.ctx); rerr != nil {
			g.s.log.Warn().Err(rerr).Msg("consulstore: reload after conflict")
			g.failed = err
		}
		g.base = g.s.Snapshot()
	default:
		g.failed = err
	}
	for _, p := range g.waiting {
		if err != nil {
			p.w.done <- writeResult{err: err}
		} else {
			p.w.done <- writeResult{snap: p.snap}
		}
	}
	g.waiting, g.batch = g.waiting[:0], txnBatch{}
	return err
}

// runWrite runs fn, catching its panic so the committer survives it and the
// caller's goroutine raises it, as it did when callers ran their own fns.
func runWrite(fn func(*composition.Tx) error, tx *composition.Tx) (panicked any, err error) {
	defer func() { panicked = recover() }()
	return nil, fn(tx)
}
