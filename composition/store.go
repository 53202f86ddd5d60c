package composition

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// Store keeps the composition as a sequence of revisions. Implementations:
// boltstore (embedded) and consulstore (Consul KV).
//
// Update may run its fn more than once, each time on a new Tx over a newer
// composition, and commits only the last run's writes: consulstore runs it
// again when another coordinator wrote first (a lost check-and-set), so
// that writes that do not conflict all commit and one that does is refused
// by validation rather than answered 409. So fn must be a function of its
// Tx: it may set variables its caller reads after Update returns (each run
// setting them afresh, as a later run's values are the committed ones),
// and fill an entity made before Update (Tx.Create gives it a new id on
// every run), but it must not do what a second run would repeat outside
// the Tx (send, count, append to a list kept across runs) or consume input
// a second run needs (a request body): such work goes before Update, or
// after it returns, on the snapshot it returns.
type Store interface {
	// Snapshot returns the newest published composition; never nil.
	Snapshot() *Snapshot
	// Update runs fn on a new Tx and commits what it wrote as the next revision.
	// When fn fails, or persisting fails, nothing is written. When fn writes
	// nothing, the current snapshot is returned and no revision is made.
	Update(ctx context.Context, fn func(*Tx) error) (*Snapshot, error)
	// Wait blocks until a revision newer than after is published, or ctx ends;
	// it then returns the newest snapshot.
	Wait(ctx context.Context, after uint64) (*Snapshot, error)
	// Close releases the store.
	Close() error
}

// PersistFunc durably records what tx wrote, producing next. It must either
// record all of it or nothing.
type PersistFunc func(ctx context.Context, changes []Change, next *Composition) error

// ErrClosed is returned by a closed store.
var ErrClosed = errors.New("composition store closed")

// Head is the part every Store shares: it serializes writers, publishes
// immutable snapshots and wakes waiters. A store gives it a PersistFunc.
type Head struct {
	persist PersistFunc
	now     func() time.Time

	writeMu sync.Mutex
	cur     atomic.Pointer[Composition]

	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every publish
	closed  bool
}

// NewHead starts a head at initial, which must be sealed.
func NewHead(initial *Composition, persist PersistFunc, now func() time.Time) *Head {
	if now == nil {
		now = time.Now
	}
	h := &Head{persist: persist, now: now, changed: make(chan struct{})}
	h.cur.Store(initial)
	return h
}

// Snapshot returns the newest published composition.
func (h *Head) Snapshot() *Snapshot { return h.cur.Load() }

// Update implements Store.Update.
func (h *Head) Update(ctx context.Context, fn func(*Tx) error) (*Snapshot, error) {
	h.writeMu.Lock()
	defer h.writeMu.Unlock()
	if h.isClosed() {
		return nil, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	base := h.cur.Load()
	tx := NewTx(base, h.now())
	if err := fn(tx); err != nil {
		return nil, err
	}
	changes := tx.Changes()
	if len(changes) == 0 {
		return base, nil
	}
	next := tx.Result()
	if err := h.persist(ctx, changes, next); err != nil {
		return nil, err
	}
	h.publish(next)
	return next, nil
}

// Publish makes c current if it is newer than what is published: stores that
// learn revisions from elsewhere (another coordinator) call it. It reports
// whether c was taken; an older or equal revision never replaces a newer one.
func (h *Head) Publish(c *Composition) bool {
	h.writeMu.Lock()
	defer h.writeMu.Unlock()
	if c.Revision <= h.cur.Load().Revision {
		return false
	}
	c.Seal()
	h.publish(c)
	return true
}

func (h *Head) publish(c *Composition) {
	h.cur.Store(c)
	h.mu.Lock()
	close(h.changed)
	h.changed = make(chan struct{})
	h.mu.Unlock()
}

// Wait implements Store.Wait.
func (h *Head) Wait(ctx context.Context, after uint64) (*Snapshot, error) {
	for {
		h.mu.Lock()
		ch, closed := h.changed, h.closed
		h.mu.Unlock()
		if s := h.cur.Load(); s.Revision > after {
			return s, nil
		}
		if closed {
			return nil, ErrClosed
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return h.cur.Load(), ctx.Err()
		}
	}
}

// Close wakes every waiter with ErrClosed and refuses further writes.
func (h *Head) Close() {
	h.writeMu.Lock()
	defer h.writeMu.Unlock()
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.closed {
		h.closed = true
		close(h.changed)
		h.changed = make(chan struct{})
	}
}

func (h *Head) isClosed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.closed
}
