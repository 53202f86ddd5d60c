package boltstore

import (
	"context"
	"time"

	"github.com/portolan/portolan/composition"
)

// maxGroup bounds the writes one transaction carries.
const maxGroup = 128

// revision is one write of a group that changed something: what it wrote and
// the composition it made.
type revision struct {
	changes []composition.Change
	next    *composition.Composition
}

// Update implements composition.Store.Update with a group commit
// (composition.GroupCommit): the writes that arrive while a transaction is
// being written and fsynced are all carried by the next one, each
// validated on the writes before it with its own revision; each caller is
// answered after the fsync of the transaction holding its write, and if
// that transaction fails, every write in it fails.
func (s *Store) Update(ctx context.Context, fn func(*composition.Tx) error) (*composition.Snapshot, error) {
	return s.group.Update(ctx, fn)
}

// commitGroup runs the group's fns one on top of the other, persists every
// revision they made in one transaction, publishes the last and answers
// each writer.
func (s *Store) commitGroup(group []*composition.Write) {
	base := s.Snapshot()
	now := time.Now()
	var revs []revision
	type made struct {
		w    *composition.Write
		snap *composition.Snapshot
	}
	waiting := make([]made, 0, len(group))
	for _, w := range group {
		tx := composition.NewTx(base, now)
		if !w.Run(tx) {
			continue // failed alone, answered
		}
		changes := tx.Changes()
		if len(changes) == 0 { // no revision: the state it saw, once that is stored
			waiting = append(waiting, made{w, base})
			continue
		}
		next := tx.Result()
		revs = append(revs, revision{changes: changes, next: next})
		waiting = append(waiting, made{w, next})
		base = next
	}
	var err error
	if len(revs) > 0 {
		if err = s.persistGroup(revs); err == nil {
			s.Publish(revs[len(revs)-1].next)
		}
	}
	for _, m := range waiting {
		m.w.Answer(m.snap, err)
	}
}
