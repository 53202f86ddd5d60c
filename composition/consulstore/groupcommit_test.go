package consulstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/composition/consulstore"
	"github.com/portolan/portolan/composition/storetest"
	"github.com/portolan/portolan/internal/testenv"
)

// The group-commit properties (storetest) on Consul; ConcurrentWriters'
// reopen loads the composition from Consul again.

func TestGroupCommitConcurrentWriters(t *testing.T) {
	cl := newClient(t, testenv.StartConsul(t))
	storetest.ConcurrentWriters(t, open(t, cl), func() composition.Store { return open(t, cl) })
}

func TestGroupCommitFailingWriteFailsAlone(t *testing.T) {
	storetest.FailingWriteFailsAlone(t, open(t, newClient(t, testenv.StartConsul(t))))
}

func TestGroupCommitPanicReachesTheCaller(t *testing.T) {
	storetest.PanicReachesTheCaller(t, open(t, newClient(t, testenv.StartConsul(t))))
}

func TestGroupCommitClosed(t *testing.T) {
	storetest.Closed(t, open(t, newClient(t, testenv.StartConsul(t))))
}

// Two coordinators' stores writing concurrently, each with many writers:
// a group that lost the race to the other store writes nothing and is run
// again on the newer composition; a write that lost every try fails with
// ErrConflict and its writer retries, as HTTP clients retry a 409.
// Every acknowledged write keeps a revision no other write got, none is
// lost, and both stores converge on the composition Consul holds.
func TestGroupCommitTwoStoresConverge(t *testing.T) {
	cl := newClient(t, testenv.StartConsul(t))
	stores := []*consulstore.Store{open(t, cl), open(t, cl)}
	const writers, each, maxTries = 16, 4, 1000
	got := &storetest.Acks{}
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
						snap, err := s.Update(context.Background(), storetest.CreateService(name))
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
						got.Add(t, snap.Revision, name)
						break
					}
				}
			})
		}
	}
	wg.Wait()
	t.Logf("%d writes, %d conflicts retried", got.Len(), conflicts)
	const total = 2 * writers * each
	require.Equal(t, total, got.Len())
	got.Contiguous(t, 0)

	fresh := open(t, cl).Snapshot()
	assert.EqualValues(t, total, fresh.Revision)
	got.AllPresent(t, fresh)
	for i, s := range stores {
		// A safety bound, not a timing assertion: the watch delivers it.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		snap, err := s.Wait(ctx, total-1)
		cancel()
		require.NoError(t, err, "store %d never saw revision %d", i, total)
		assert.Equal(t, dump(t, fresh), dump(t, snap), "store %d", i)
	}
}
