package composition

import (
	"context"
	"sync"
)

// GroupCommit is the write queue of a store that commits concurrent writes
// together (boltstore in one fsynced bbolt transaction, consulstore in one
// Consul transaction). Writes that arrive while a group is being committed
// wait, on an unbuffered channel (backpressure: nothing is queued beyond the
// callers themselves), and all go to the next group. There is no wait
// timer: a lone writer is committed at once.
//
// The store's commit function owns a group: it runs each write in arrival
// order on the composition the writes before it made (Write.Run), so each
// is validated against them and gets its own revision, persists what they
// made, and answers every write (Write.Answer) once the commit holding it
// is durable, or with the error that stopped it.
type GroupCommit struct {
	writes    chan *Write
	quit      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// StartGroupCommit starts the committer: it hands commit every write
// waiting, at most maxGroup at a time, until Close.
func StartGroupCommit(maxGroup int, commit func(group []*Write)) *GroupCommit {
	g := &GroupCommit{writes: make(chan *Write), quit: make(chan struct{}), done: make(chan struct{})}
	go g.loop(maxGroup, commit)
	return g
}

func (g *GroupCommit) loop(maxGroup int, commit func([]*Write)) {
	defer close(g.done)
	for {
		select {
		case <-g.quit:
			return
		case w := <-g.writes:
			group := []*Write{w}
		more:
			for len(group) < maxGroup {
				select {
				case w := <-g.writes:
					group = append(group, w)
				default:
					break more
				}
			}
			commit(group)
		}
	}
}

// Update hands fn to the committer and waits for its answer: the store's
// Store.Update. Once handed over, the outcome must be known, whatever ctx
// says, so it waits; a panic of fn is raised again here, in the caller's
// goroutine, as when callers ran their own fns.
func (g *GroupCommit) Update(ctx context.Context, fn func(*Tx) error) (*Snapshot, error) {
	w := NewWrite(ctx, fn)
	select {
	case g.writes <- w:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-g.quit:
		return nil, ErrClosed
	}
	r := w.Wait()
	if r.Panicked != nil {
		panic(r.Panicked)
	}
	return r.Snap, r.Err
}

// Close refuses further writes and waits for the group in flight.
func (g *GroupCommit) Close() {
	g.closeOnce.Do(func() {
		close(g.quit)
		<-g.done
	})
}

// Write is one Update in a group.
type Write struct {
	ctx  context.Context
	fn   func(*Tx) error
	done chan WriteResult // buffered: the committer never waits on a caller
}

// WriteResult is a write's answer.
type WriteResult struct {
	Snap     *Snapshot
	Err      error
	Panicked any // fn's panic, raised again in the caller's goroutine
}

// NewWrite returns a write of fn, not yet queued (tests build groups with it).
func NewWrite(ctx context.Context, fn func(*Tx) error) *Write {
	return &Write{ctx: ctx, fn: fn, done: make(chan WriteResult, 1)}
}

// Run runs the write's fn on tx. It reports false when the write failed
// alone, and has then answered it: its caller gave up before its turn, or
// fn returned an error or panicked. On true the store answers it once the
// commit holding tx's changes is done.
func (w *Write) Run(tx *Tx) bool {
	if err := w.ctx.Err(); err != nil {
		w.done <- WriteResult{Err: err}
		return false
	}
	panicked, err := runWrite(w.fn, tx)
	if err != nil || panicked != nil {
		w.done <- WriteResult{Err: err, Panicked: panicked}
		return false
	}
	return true
}

// runWrite runs fn, catching its panic so the committer survives it.
func runWrite(fn func(*Tx) error, tx *Tx) (panicked any, err error) {
	defer func() { panicked = recover() }()
	return nil, fn(tx)
}

// Answer answers the write's caller: the snapshot its write made (or saw,
// for a write that changed nothing), or the error that stopped its commit.
func (w *Write) Answer(snap *Snapshot, err error) {
	if err != nil {
		snap = nil
	}
	w.done <- WriteResult{Snap: snap, Err: err}
}

// Wait waits for the write's answer.
func (w *Write) Wait() WriteResult { return <-w.done }
