package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// The group-commit properties every composition store keeps, each run by
// both stores' tests on a store of their own.

// CreateService creates a service named name, system_name name.
func CreateService(name string) func(*composition.Tx) error {
	return func(tx *composition.Tx) error {
		return tx.Create(&composition.Service{Name: name, SystemName: name})
	}
}

// Acks records the revision each acknowledged write was answered with.
type Acks struct {
	mu   sync.Mutex
	revs map[uint64]string // revision → system_name its write created
}

// Add records that the write creating name was answered with rev; a
// revision answered twice fails t.
func (a *Acks) Add(t *testing.T, rev uint64, name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.revs == nil {
		a.revs = map[uint64]string{}
	}
	if prev, seen := a.revs[rev]; seen {
		t.Errorf("revision %d answered to %s and to %s", rev, prev, name)
	}
	a.revs[rev] = name
}

// Len is how many writes were acknowledged.
func (a *Acks) Len() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.revs)
}

// Contiguous asserts the revisions are base+1 … base+n, n being how many.
func (a *Acks) Contiguous(t *testing.T, base uint64) {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	revs := make([]uint64, 0, len(a.revs))
	for r := range a.revs {
		revs = append(revs, r)
	}
	slices.Sort(revs)
	require.NotEmpty(t, revs)
	assert.Equal(t, base+1, revs[0], "first revision")
	assert.Equal(t, base+uint64(len(revs)), revs[len(revs)-1], "revisions are contiguous")
}

// AllPresent asserts every acknowledged write is in snap, with its hits
// metric.
func (a *Acks) AllPresent(t *testing.T, snap *composition.Snapshot) {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	for rev, name := range a.revs {
		svc, ok := snap.ServiceBySystemName(name)
		if assert.True(t, ok, "revision %d's service %s", rev, name) {
			_, ok = snap.Hits(composition.OwnerService, svc.ID)
			assert.True(t, ok, "revision %d's service %s has its hits metric", rev, name)
		}
	}
}

// ConcurrentWriters: many concurrent writers share group commits; each
// acknowledged write has a revision of its own, the revisions are
// contiguous, and every write is in the store reopen returns once s is
// closed.
func ConcurrentWriters(t *testing.T, s composition.Store, reopen func() composition.Store) {
	base := s.Snapshot().Revision
	const writers, each = 32, 8
	got := &Acks{}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				name := fmt.Sprintf("w%d_%d", w, i)
				snap, err := s.Update(context.Background(), CreateService(name))
				if !assert.NoError(t, err) {
					return
				}
				_, ok := snap.ServiceBySystemName(name)
				assert.True(t, ok, "the snapshot answered holds the write")
				got.Add(t, snap.Revision, name)
			}
		})
	}
	wg.Wait()
	require.Equal(t, writers*each, got.Len())
	got.Contiguous(t, base)
	require.NoError(t, s.Close())

	again := reopen()
	defer again.Close()
	snap := again.Snapshot()
	assert.Equal(t, base+writers*each, snap.Revision)
	got.AllPresent(t, snap)
}

// FailingWriteFailsAlone: writes racing to create the same system_name;
// exactly one wins, whether or not they share a group, because each is
// validated against the writes before it; the losers fail alone (a
// validation error) and every other write goes through.
func FailingWriteFailsAlone(t *testing.T, s composition.Store) {
	base := s.Snapshot().Revision
	const writers = 32
	boom := errors.New("boom")
	var wg sync.WaitGroup
	results := make([]error, writers)
	for w := range writers {
		wg.Go(func() {
			_, results[w] = s.Update(context.Background(), func(tx *composition.Tx) error {
				switch w % 4 {
				case 0: // all race for one name
					return CreateService("same")(tx)
				case 1:
					return boom
				case 2:
					return nil // writes nothing
				default:
					return CreateService(fmt.Sprintf("own_%d", w))(tx)
				}
			})
		})
	}
	wg.Wait()
	won := 0
	for w, err := range results {
		switch w % 4 {
		case 0:
			if err == nil {
				won++
			} else {
				var verr *composition.ValidationError
				assert.ErrorAs(t, err, &verr, "writer %d", w)
			}
		case 1:
			assert.ErrorIs(t, err, boom)
		default:
			assert.NoError(t, err, "writer %d", w)
		}
	}
	assert.Equal(t, 1, won, "one create of system_name same")
	snap := s.Snapshot()
	assert.Equal(t, base+1+writers/4, snap.Revision, "one revision per successful write that changed something")
	for w := 3; w < writers; w += 4 {
		_, ok := snap.ServiceBySystemName(fmt.Sprintf("own_%d", w))
		assert.True(t, ok)
	}
}

// PanicReachesTheCaller: a panic in a write is raised in its caller, as
// without group commits, and the store goes on.
func PanicReachesTheCaller(t *testing.T, s composition.Store) {
	assert.PanicsWithValue(t, "write panic", func() {
		_, _ = s.Update(context.Background(), func(*composition.Tx) error { panic("write panic") })
	})
	_, err := s.Update(context.Background(), CreateService("after"))
	require.NoError(t, err)
}

// Closed: a closed store refuses writes, and closing twice is harmless.
func Closed(t *testing.T, s composition.Store) {
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "closing twice is harmless")
	_, err := s.Update(context.Background(), CreateService("late"))
	assert.ErrorIs(t, err, composition.ErrClosed)
}
