package consulstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/backoff"
)

// maxGroup bounds the writes one group takes from the queue.
const maxGroup = 128

// A write whose transaction lost the meta key's check-and-set to another
// coordinator is run again on the newer composition the store then loads,
// as Consul's own clients handle a lost check-and-set (consul/api's
// semaphore reads again and retries): writes that do not conflict with the
// winner commit, and one that does is refused by validation, as the same
// write would be on one coordinator (422). A write is tried at most
// conflictTries times, waiting a jittered conflictWaitMin, doubling up to
// conflictWaitMax, between tries, so that coordinators writing together
// drift apart; only a write that kept losing all its tries is answered
// *ErrConflict.
const (
	conflictTries   = 8
	conflictWaitMin = 10 * time.Millisecond
	conflictWaitMax = 500 * time.Millisecond
)

// Update implements composition.Store.Update with a group commit
// (composition.GroupCommit): the writes that arrive while a transaction is
// in flight are carried by the next one, each validated on the writes
// before it with its own revision; each caller is answered once the
// transaction holding its write is committed, and if it fails, every write
// in it fails. A transaction that lost to another coordinator's write is
// no failure yet: its writes' fns run again on the newer composition
// (conflictTries), so fn may run more than once and only its last run is
// committed (composition.Store). *ErrConflict is answered only after every
// try lost, the store having loaded the newer composition, so a retry
// sees it.
func (s *Store) Update(ctx context.Context, fn func(*composition.Tx) error) (*composition.Snapshot, error) {
	return s.group.Update(ctx, fn)
}

// commitGroup runs the group's fns one on top of the other and commits the
// revisions they make in as few transactions as Consul's limits allow,
// answering each write once its transaction is committed. The writes of a
// transaction that lost its check-and-set are run again, after a jittered
// wait, on the composition loaded then, each with a new revision.
func (s *Store) commitGroup(group []*composition.Write) {
	wait := backoff.Backoff{Min: conflictWaitMin, Max: conflictWaitMax}
	for try := 1; ; try++ {
		g := &groupCommit{s: s, base: s.Snapshot(), now: time.Now(), mayRetry: try < conflictTries}
		for _, w := range group {
			g.run(w)
		}
		g.flush()
		if len(g.lost) == 0 {
			return
		}
		group = g.lost
		// Close waits for this group: the wait is bounded by
		// conflictWaitMax, and each write's own context ends its tries
		// (Write.Run).
		backoff.Sleep(context.Background(), wait.Next())
	}
}

// groupCommit is the state of one group while its writes run.
type groupCommit struct {
	s    *Store
	base *composition.Composition // what the next write runs on
	now  time.Time

	batch   txnBatch
	waiting []pending // answered when batch is committed (or fails)
	// failed ends the group: a transaction failed other than by a
	// conflict (Consul unreachable, or refusing it), and every write not
	// yet run fails with it rather than waiting for another try.
	failed error
	// mayRetry: the writes of a transaction that lost its check-and-set
	// are held in lost, unanswered, for the next try, instead of being
	// answered *ErrConflict.
	mayRetry bool
	lost     []*composition.Write
}

// pending is a write answered when its batch is committed.
type pending struct {
	w    *composition.Write
	snap *composition.Snapshot
}

// run runs one write on g.base and adds the revision it makes to the batch,
// committing the batch first when the revision does not fit in it.
func (g *groupCommit) run(w *composition.Write) {
	if g.failed != nil {
		w.Answer(nil, g.failed)
		return
	}
	tx := composition.NewTx(g.base, g.now)
	if !w.Run(tx) {
		return // failed alone, answered
	}
	changes := tx.Changes()
	if len(changes) == 0 { // no revision: the state it saw, once that is stored
		g.waiting = append(g.waiting, pending{w: w, snap: g.base})
		return
	}
	r, err := g.s.encode(changes, tx.Result())
	if err != nil {
		w.Answer(nil, err)
		return
	}
	if !g.batch.fits(r, g.s.maxTxn) {
		if err := g.flush(); err != nil {
			// w ran on the revisions that were not committed, and was
			// not sent: it is tried again with them, or fails as the
			// writes after it do.
			if g.holdsBack(err) {
				g.lost = append(g.lost, w)
				return
			}
			w.Answer(nil, cmp.Or(g.failed, err))
			return
		}
	}
	g.batch.add(r)
	g.waiting = append(g.waiting, pending{w: w, snap: r.next})
	g.base = r.next
}

// flush commits the batch and answers the writes waiting on it. On a
// conflict it loads the newer composition first, so the group's next
// writes, and the next try of the batch's own (holdsBack), run on it; on
// any other failure the group stops.
func (g *groupCommit) flush() error {
	// Each commit has its own bound: one after a large revision must not
	// find its time spent.
	ctx, cancel := context.WithTimeout(context.Background(), g.s.timeout)
	defer cancel()
	var err error
	if !g.batch.empty() {
		err = g.s.commit(ctx, &g.batch)
	}
	var conflict *ErrConflict
	switch {
	case err == nil:
		if !g.batch.empty() {
			g.s.Publish(g.batch.last)
		}
	case errors.As(err, &conflict):
		rerr := g.s.reload(ctx)
		if errors.As(rerr, new(*ErrBehind)) || errors.As(rerr, new(*ErrCorrupt)) {
			// Not another coordinator's write: Consul lost the newer
			// revisions, or holds a key the store cannot read, and no
			// retry can succeed until an operator acts.
			err, g.failed = rerr, rerr
		} else if rerr != nil {
			g.s.log.Warn().Err(rerr).Msg("consulstore: reload after conflict")
			g.failed = err
		}
		g.base = g.s.Snapshot()
	default:
		g.failed = err
		if unknown := (*ErrOutcomeUnknown)(nil); errors.As(err, &unknown) {
			// The batch's own writes may still apply; the writes after
			// it were never sent, and that much is known.
			g.failed = fmt.Errorf("consulstore: not written: Consul did not answer the write before it (%w)", unknown.Err)
		}
	}
	retry := g.holdsBack(err)
	for _, p := range g.waiting {
		if retry {
			g.lost = append(g.lost, p.w)
			continue
		}
		p.w.Answer(p.snap, err)
	}
	g.waiting, g.batch = g.waiting[:0], txnBatch{}
	return err
}

// holdsBack reports whether the writes err failed are tried again rather
// than answered: err is a lost check-and-set, the newer composition was
// loaded (failed unset), and tries remain.
func (g *groupCommit) holdsBack(err error) bool {
	return g.mayRetry && g.failed == nil && errors.As(err, new(*ErrConflict))
}
