package boltstore_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// Many concurrent writers share group commits: each acknowledged write has a
// revision of its own, the revisions are contiguous, and every write is there
// after a reopen, with the revision and last id stored.
func TestGroupCommitConcurrentWriters(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	base := s.Snapshot().Revision
	const writers, each = 32, 8
	var mu sync.Mutex
	revs := map[uint64]string{} // revision → system_name its write created
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				name := fmt.Sprintf("w%d_%d", w, i)
				snap, err := s.Update(context.Background(), func(tx *composition.Tx) error {
					return tx.Create(&composition.Service{Name: name, SystemName: name})
				})
				if !assert.NoError(t, err) {
					return
				}
				_, ok := snap.ServiceBySystemName(name)
				assert.True(t, ok, "the snapshot answered holds the write")
				mu.Lock()
				_, seen := revs[snap.Revision]
				assert.False(t, seen, "revision %d answered twice", snap.Revision)
				revs[snap.Revision] = name
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	require.Len(t, revs, writers*each)
	keys := make([]uint64, 0, len(revs))
	for r := range revs {
		keys = append(keys, r)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	assert.Equal(t, base+1, keys[0])
	assert.Equal(t, base+writers*each, keys[len(keys)-1], "revisions are contiguous")
	require.NoError(t, s.Close())

	s = open(t, dir)
	defer s.Close()
	snap := s.Snapshot()
	assert.Equal(t, base+writers*each, snap.Revision)
	for rev, name := range revs {
		svc, ok := snap.ServiceBySystemName(name)
		if assert.True(t, ok, "revision %d's service after reopen", rev) {
			_, ok = snap.Hits(composition.OwnerService, svc.ID)
			assert.True(t, ok, "with its hits metric")
		}
	}
}

// Writes racing to create the same system_name: exactly one wins, whether or
// not they share a group, because each is validated against the writes
// before it; the losers fail alone and every other write goes through.
func TestGroupCommitFailingWriteFailsAlone(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	base := s.Snapshot().Revision
	const writers = 32
	boom := errors.New("boom")
	var wg sync.WaitGroup
	results := make([]error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, results[w] = s.Update(context.Background(), func(tx *composition.Tx) error {
				switch w % 4 {
				case 0: // all race for one name
					return tx.Create(&composition.Service{Name: "Same", SystemName: "same"})
				case 1:
					return boom
				case 2:
					return nil // writes nothing
				default:
					name := fmt.Sprintf("own_%d", w)
					return tx.Create(&composition.Service{Name: name, SystemName: name})
				}
			})
		}()
	}
	wg.Wait()
	won := 0
	for w, err := range results {
		switch w % 4 {
		case 0:
			if err == nil {
				won++
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

// A panic in a write is raised in its caller, as before group commits, and
// the store goes on.
func TestGroupCommitPanicReachesTheCaller(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	assert.PanicsWithValue(t, "write panic", func() {
		_, _ = s.Update(context.Background(), func(*composition.Tx) error { panic("write panic") })
	})
	update(t, s, func(tx *composition.Tx) error {
		return tx.Create(&composition.Service{Name: "After"})
	})
}

// A closed store refuses writes.
func TestGroupCommitClosed(t *testing.T) {
	s := open(t, t.TempDir())
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "closing twice is harmless")
	_, err := s.Update(context.Background(), func(tx *composition.Tx) error {
		return tx.Create(&composition.Service{Name: "Late"})
	})
	assert.ErrorIs(t, err, composition.ErrClosed)
}
