package consulstore_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/composition/consulstore"
	"github.com/portolan/portolan/internal/testenv"
)

// createService creates a service named name, system_name name.
func createService(name string) func(*composition.Tx) error {
	return func(tx *composition.Tx) error {
		return tx.Create(&composition.Service{Name: name, SystemName: name})
	}
}

// acks records the revision each acknowledged write was answered with.
type acks struct {
	mu   sync.Mutex
	revs map[uint64]string // revision → system_name its write created
}

func (a *acks) add(t *testing.T, rev uint64, name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if prev, seen := a.revs[rev]; seen {
		t.Errorf("revision %d answered to %s and to %s", rev, prev, name)
	}
	a.revs[rev] = name
}

// contiguous asserts the revisions are base+1 … base+n, n being how many.
func (a *acks) contiguous(t *testing.T, base uint64) {
	t.Helper()
	revs := make([]uint64, 0, len(a.revs))
	for r := range a.revs {
		revs = append(revs, r)
	}
	slices.Sort(revs)
	require.NotEmpty(t, revs)
	assert.Equal(t, base+1, revs[0], "first revision")
	assert.Equal(t, base+uint64(len(revs)), revs[len(revs)-1], "revisions are contiguous")
}

// allPresent asserts every acknowledged write is in snap.
func (a *acks) allPresent(t *testing.T, snap *composition.Snapshot) {
	t.Helper()
	for rev, name := range a.revs {
		_, ok := snap.ServiceBySystemName(name)
		assert.True(t, ok, "revision %d's service %s", rev, name)
	}
}

// Many concurrent writers share group commits on Consul: each acknowledged
// write has a revision of its own, the revisions are contiguous, and every
// write is there when the composition is loaded again from Consul.
func TestGroupCommitConcurrentWriters(t *testing.T) {
	cl := newClient(t, testenv.StartConsul(t))
	s := open(t, cl)
	base := s.Snapshot().Revision
	const writers, each = 32, 8
	got := &acks{revs: map[uint64]string{}}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				name := fmt.Sprintf("w%d_%d", w, i)
				snap, err := s.Update(context.Background(), createService(name))
				if !assert.NoError(t, err) {
					return
				}
				_, ok := snap.ServiceBySystemName(name)
				assert.True(t, ok, "the snapshot answered holds the write")
				got.add(t, snap.Revision, name)
			}
		})
	}
	wg.Wait()
	require.Len(t, got.revs, writers*each)
	got.contiguous(t, base)
	require.NoError(t, s.Close())

	again := open(t, cl).Snapshot()
	assert.Equal(t, base+writers*each, again.Revision)
	got.allPresent(t, again)
}

// Writes racing to create the same system_name: exactly one wins, whether or
// not they share a group, because each is validated against the writes
// before it; the losers fail alone and every other write goes through.
func TestGroupCommitFailingWriteFailsAlone(t *testing.T) {
	s := open(t, newClient(t, testenv.StartConsul(t)))
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
					return createService("same")(tx)
				case 1:
					return boom
				case 2:
					return nil // writes nothing
				default:
					return createService(fmt.Sprintf("own_%d", w))(tx)
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

// Two coordinators' stores writing concurrently, each with many writers:
// a group that lost the race to the other store fails with ErrConflict and
// nothing of it is written; its writers retry, as HTTP clients retry a 409.
// Every acknowledged write keeps a revision no other write got, none is
// lost, and both stores converge on the composition Consul holds.
func TestGroupCommitTwoStoresConverge(t *testing.T) {
	cl := newClient(t, testenv.StartConsul(t))
	stores := []*consulstore.Store{open(t, cl), open(t, cl)}
	const writers, each, maxTries = 16, 4, 1000
	got := &acks{revs: map[uint64]string{}}
	var wg sync.WaitGroup
	var conflictsMu sync.Mutex
	conflicts := 0
	for si, s := range stores {
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					name := fmt.Sprintf("s%d_w%d_%d", si, w, i)
					for try := 0; ; try++ {
						if !assert.Less(t, try, maxTries, "%s still conflicting", name) {
							return
						}
						snap, err := s.Update(context.Background(), createService(name))
						var conflict *consulstore.ErrConflict
						if errors.As(err, &conflict) {
							conflictsMu.Lock()
							conflicts++
							conflictsMu.Unlock()
							continue
						}
						if !assert.NoError(t, err, name) {
							return
						}
						got.add(t, snap.Revision, name)
						break
					}
				}
			})
		}
	}
	wg.Wait()
	t.Logf("%d writes, %d conflicts retried", len(got.revs), conflicts)
	const total = 2 * writers * each
	require.Len(t, got.revs, total)
	got.contiguous(t, 0)

	fresh := open(t, cl).Snapshot()
	assert.EqualValues(t, total, fresh.Revision)
	got.allPresent(t, fresh)
	for i, s := range stores {
		// A safety bound, not a timing assertion: the watch delivers it.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		snap, err := s.Wait(ctx, total-1)
		cancel()
		require.NoError(t, err, "store %d never saw revision %d", i, total)
		assert.Equal(t, dump(t, fresh), dump(t, snap), "store %d", i)
	}
}

// A panic in a write is raised in its caller, and the store goes on.
func TestGroupCommitPanicReachesTheCaller(t *testing.T) {
	s := open(t, newClient(t, testenv.StartConsul(t)))
	assert.PanicsWithValue(t, "write panic", func() {
		_, _ = s.Update(context.Background(), func(*composition.Tx) error { panic("write panic") })
	})
	_, err := s.Update(context.Background(), createService("after"))
	require.NoError(t, err)
}

// A closed store refuses writes.
func TestGroupCommitClosed(t *testing.T) {
	s := open(t, newClient(t, testenv.StartConsul(t)))
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "closing twice is harmless")
	_, err := s.Update(context.Background(), createService("late"))
	assert.ErrorIs(t, err, composition.ErrClosed)
}
