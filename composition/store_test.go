package composition

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var _ Store = (*testStore)(nil)

// testStore is the smallest Store: a Head with a persist that never fails.
type testStore struct{ *Head }

func (s testStore) Close() error { s.Head.Close(); return nil }

type waitResult struct {
	snap *Snapshot
	err  error
}

func startWait(ctx context.Context, h *Head, after uint64) <-chan waitResult {
	ch := make(chan waitResult, 1)
	go func() {
		s, err := h.Wait(ctx, after)
		ch <- waitResult{s, err}
	}()
	return ch
}

func requireBlocked(t *testing.T, ch <-chan waitResult) {
	t.Helper()
	select {
	case r := <-ch:
		t.Fatalf("Wait returned early: revision %v, err %v", r.snap, r.err)
	case <-time.After(50 * time.Millisecond):
	}
}

func requireResult(t *testing.T, ch <-chan waitResult) waitResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("Wait did not return")
		return waitResult{}
	}
}

func TestHeadWaitBlocksUntilNewerRevision(t *testing.T) {
	h := newTestHead()
	ctx := context.Background()

	ch := startWait(ctx, h, 0)
	requireBlocked(t, ch)
	s1 := mustUpdate(t, h, func(tx *Tx) error { return tx.Create(&Service{Name: "One"}) })
	r := requireResult(t, ch)
	require.NoError(t, r.err)
	assert.Same(t, s1, r.snap)
	assert.EqualValues(t, 1, r.snap.Revision)

	// Already newer: returns at once with the newest snapshot.
	s2 := mustUpdate(t, h, func(tx *Tx) error { return tx.Create(&Service{Name: "Two"}) })
	r = requireResult(t, startWait(ctx, h, 0))
	require.NoError(t, r.err)
	assert.Same(t, s2, r.snap)

	// A write that changes nothing, or fails, wakes nobody.
	ch = startWait(ctx, h, 2)
	mustUpdate(t, h, func(*Tx) error { return nil })
	_, err := h.Update(ctx, func(tx *Tx) error { return tx.Create(&Service{Name: "Two"}) })
	require.Error(t, err)
	requireBlocked(t, ch)
	s3 := mustUpdate(t, h, func(tx *Tx) error { return tx.Create(&Service{Name: "Three"}) })
	r = requireResult(t, ch)
	require.NoError(t, r.err)
	assert.Same(t, s3, r.snap)

	// Many waiters all wake on one publish.
	var chans []<-chan waitResult
	for range 10 {
		chans = append(chans, startWait(ctx, h, 3))
	}
	requireBlocked(t, chans[0])
	s4 := mustUpdate(t, h, func(tx *Tx) error { return tx.Create(&Service{Name: "Four"}) })
	for _, ch := range chans {
		r := requireResult(t, ch)
		require.NoError(t, r.err)
		assert.Same(t, s4, r.snap)
	}
}

func TestHeadWaitReturnsOnContextEnd(t *testing.T) {
	h := newTestHead()
	cur := mustUpdate(t, h, func(tx *Tx) error { return tx.Create(&Service{Name: "One"}) })

	ctx, cancel := context.WithCancel(context.Background())
	ch := startWait(ctx, h, 1)
	requireBlocked(t, ch)
	cancel()
	r := requireResult(t, ch)
	require.ErrorIs(t, r.err, context.Canceled)
	assert.Same(t, cur, r.snap, "the current snapshot comes back with the error")

	ctx, cancel = context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	start := time.Now()
	r = requireResult(t, startWait(ctx, h, 1))
	require.ErrorIs(t, r.err, context.DeadlineExceeded)
	assert.GreaterOrEqual(t, time.Since(start), 25*time.Millisecond)

	// An ended context still returns a newer snapshot if there is one.
	done, cancel2 := context.WithCancel(context.Background())
	cancel2()
	r = requireResult(t, startWait(done, h, 0))
	require.NoError(t, r.err)
	assert.Same(t, cur, r.snap)

	// Update refuses an ended context and writes nothing.
	_, err := h.Update(done, func(tx *Tx) error { return tx.Create(&Service{Name: "Two"}) })
	require.ErrorIs(t, err, context.Canceled)
	assert.Same(t, cur, h.Snapshot())
}

func TestHeadCloseWakesWaiters(t *testing.T) {
	h := newTestHead()
	s := testStore{h}
	mustUpdate(t, h, func(tx *Tx) error { return tx.Create(&Service{Name: "One"}) })

	var chans []<-chan waitResult
	for range 5 {
		chans = append(chans, startWait(context.Background(), h, 1))
	}
	requireBlocked(t, chans[0])
	require.NoError(t, s.Close())
	for _, ch := range chans {
		r := requireResult(t, ch)
		require.ErrorIs(t, r.err, ErrClosed)
	}

	// After Close: waits fail at once, writes are refused, reads still work.
	r := requireResult(t, startWait(context.Background(), h, 1))
	require.ErrorIs(t, r.err, ErrClosed)
	_, err := h.Update(context.Background(), func(tx *Tx) error { return tx.Create(&Service{Name: "Two"}) })
	require.ErrorIs(t, err, ErrClosed)
	assert.EqualValues(t, 1, h.Snapshot().Revision)
	require.NoError(t, s.Close(), "closing twice is harmless")
}

func TestHeadCloseWaitsForRunningWrite(t *testing.T) {
	h := newTestHead()
	inFn, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := h.Update(context.Background(), func(tx *Tx) error {
			close(inFn)
			<-release
			return tx.Create(&Service{Name: "Slow"})
		})
		done <- err
	}()
	<-inFn
	closed := make(chan struct{})
	go func() { h.Close(); close(closed) }()
	select {
	case <-closed:
		t.Fatal("Close returned while a write was running")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	require.NoError(t, <-done, "the running write completes")
	<-closed
	assert.EqualValues(t, 1, h.Snapshot().Revision)
}

func TestHeadPublishNeverMovesBack(t *testing.T) {
	h := newTestHead()
	var snaps []*Snapshot
	for i := range 3 {
		snaps = append(snaps, mustUpdate(t, h, func(tx *Tx) error {
			return tx.Create(&Service{Name: fmt.Sprintf("S%d", i)})
		}))
	}
	cur := h.Snapshot()
	require.EqualValues(t, 3, cur.Revision)

	assert.False(t, h.Publish(snaps[1]), "an older revision is refused")
	assert.False(t, h.Publish(snaps[0]))
	assert.Same(t, cur, h.Snapshot())

	// Another composition at the same revision is refused too.
	tx := NewTx(snaps[1], testNow)
	require.NoError(t, tx.Create(&Service{Name: "Elsewhere"}))
	same := tx.Result()
	require.EqualValues(t, 3, same.Revision)
	assert.False(t, h.Publish(same))
	assert.Same(t, cur, h.Snapshot())

	// A newer one, learned from elsewhere, is taken and wakes waiters.
	ch := startWait(context.Background(), h, 3)
	tx = NewTx(cur, testNow)
	require.NoError(t, tx.Create(&Service{Name: "From another home"}))
	newer := tx.Result()
	newer.Revision = 7
	assert.True(t, h.Publish(newer))
	r := requireResult(t, ch)
	require.NoError(t, r.err)
	assert.Same(t, newer, r.snap)
	assert.Same(t, newer, h.Snapshot())

	assert.False(t, h.Publish(cur))
	assert.EqualValues(t, 7, h.Snapshot().Revision)

	// Local writes continue from there.
	next := mustUpdate(t, h, func(tx *Tx) error { return tx.Create(&Service{Name: "Local"}) })
	assert.EqualValues(t, 8, next.Revision)
	assert.Equal(t, 5, next.Services.Len())
}

func TestHeadConcurrentUpdates(t *testing.T) {
	const writers, perWriter = 8, 25

	var (
		persistMu sync.Mutex
		persisted []uint64
	)
	persist := func(_ context.Context, changes []Change, next *Composition) error {
		persistMu.Lock()
		defer persistMu.Unlock()
		persisted = append(persisted, next.Revision)
		if len(changes) == 0 {
			return fmt.Errorf("revision %d has no changes", next.Revision)
		}
		return nil
	}
	h := NewHead(New(), persist, nil)
	var svcID int64
	mustUpdate(t, h, func(tx *Tx) error {
		s := &Service{Name: "Shared"}
		if err := tx.Create(s); err != nil {
			return err
		}
		svcID = s.ID
		return tx.Create(&Account{OrgName: "Counter"})
	})
	start := h.Snapshot().Revision
	counter, ok := h.Snapshot().Accounts.Find(func(*Account) bool { return true })
	require.True(t, ok)

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var readers sync.WaitGroup
	for range 4 { // readers and waiters run alongside the writers
		readers.Add(1)
		go func() {
			defer readers.Done()
			var last uint64
			for ctx.Err() == nil {
				s := h.Snapshot()
				if s.Revision < last {
					t.Errorf("snapshot moved back from %d to %d", last, s.Revision)
					return
				}
				last = s.Revision
				_ = s.MetricsOf(OwnerService, svcID)
				if w, err := h.Wait(ctx, last); err == nil && w.Revision <= last {
					t.Errorf("Wait(%d) returned revision %d", last, w.Revision)
					return
				}
			}
		}()
	}

	revs := make([][]uint64, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				s, err := h.Update(context.Background(), func(tx *Tx) error {
					// a read-modify-write of one shared entity: lost updates would show here
					a, _ := tx.View().Accounts.Get(counter.ID)
					n := *a
					n.PoNumber = fmt.Sprint(atoiOrZero(a.PoNumber) + 1)
					if err := tx.Update(&n); err != nil {
						return err
					}
					return tx.Create(&Metric{OwnerType: OwnerService, OwnerID: svcID,
						FriendlyName: fmt.Sprintf("w%d m%d", w, i), Unit: "unit"})
				})
				if err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
				revs[w] = append(revs[w], s.Revision)
			}
		}()
	}
	wg.Wait()
	stop()
	readers.Wait()

	final := h.Snapshot()
	total := writers * perWriter
	assert.Equal(t, start+uint64(total), final.Revision)
	assert.Equal(t, 1+total, len(final.MetricsOf(OwnerService, svcID)), "hits plus every metric written")
	acc, _ := final.Accounts.Get(counter.ID)
	assert.Equal(t, fmt.Sprint(total), acc.PoNumber, "no read-modify-write was lost")

	seen := map[uint64]bool{}
	for w, rs := range revs {
		require.Len(t, rs, perWriter)
		for i, r := range rs {
			if i > 0 {
				assert.Greater(t, r, rs[i-1], "writer %d's revisions increase", w)
			}
			assert.False(t, seen[r], "revision %d acknowledged twice", r)
			seen[r] = true
			assert.True(t, r > start && r <= final.Revision)
		}
	}
	persistMu.Lock()
	defer persistMu.Unlock()
	require.Len(t, persisted, total+1)
	for i := 1; i < len(persisted); i++ {
		assert.Equal(t, persisted[i-1]+1, persisted[i], "revisions are persisted in order, one by one")
	}
}

func atoiOrZero(s string) int {
	var n int
	_, _ = fmt.Sscan(s, &n)
	return n
}
