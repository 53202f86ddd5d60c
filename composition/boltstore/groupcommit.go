package boltstore

import (
	"context"
	"time"

	"github.com/portolan/portolan/composition"
)

// maxGroup bounds the writes one transaction carries.
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

// revision is one write of a group that changed something: what it wrote and
// the composition it made.
type revision struct {
	changes []composition.Change
	next    *composition.Composition
}

// Update implements composition.Store.Update with a group commit: writes
// that arrive while a transaction is being written and fsynced wait (on an
// unbuffered channel: backpressure, nothing queued beyond the callers) and
// are all carried by the next one. A lone writer is committed at once, with
// no wait timer. Within a group each fn runs in arrival order on the
// composition the writes before it made, so each is validated against
// them and gets its own revision, one above the previous; a fn that fails
// fails alone. Each caller is answered after the fsync of the transaction
// holding its write; if that transaction fails, every write in it fails.
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
	defer close(s.done)
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

// commitGroup runs the group's fns one on top of the other, persists every
// revision they made in one transaction, publishes the last and answers
// each writer.
func (s *Store) commitGroup(group []*write) {
	base := s.Snapshot()
	now := time.Now()
	var revs []revision
	answers := make([]writeResult, len(group))
	answered := make([]bool, len(group)) // failed alone, before the commit
	for i, w := range group {
		if err := w.ctx.Err(); err != nil {
			answers[i], answered[i] = writeResult{err: err}, true
			continue
		}
		tx := composition.NewTx(base, now)
		if p, err := runWrite(w.fn, tx); err != nil || p != nil {
			answers[i], answered[i] = writeResult{err: err, panicked: p}, true
			continue
		}
		changes := tx.Changes()
		if len(changes) == 0 { // no revision: the state it saw, once that is stored
			answers[i] = writeResult{snap: base}
			continue
		}
		next := tx.Result()
		revs = append(revs, revision{changes: changes, next: next})
		answers[i] = writeResult{snap: next}
		base = next
	}
	if len(revs) > 0 {
		if err := s.persistGroup(revs); err != nil {
			for i := range answers {
				if !answered[i] {
					answers[i] = writeResult{err: err}
				}
			}
		} else {
			s.Publish(revs[len(revs)-1].next)
		}
	}
	for i, w := range group {
		w.done <- answers[i]
	}
}

// runWrite runs fn, catching its panic so the committer survives it and the
// caller's goroutine raises it, as it did when callers ran their own fns.
func runWrite(fn func(*composition.Tx) error, tx *composition.Tx) (panicked any, err error) {
	defer func() { panicked = recover() }()
	return nil, fn(tx)
}
