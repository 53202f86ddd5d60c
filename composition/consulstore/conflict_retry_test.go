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

// Two coordinators' stores on one Consul, each given many concurrent
// writes that do not conflict (metrics of one service, each its own
// system_name): every write commits, none answers ErrConflict (409).
//
// Oracle: porta serializes such creates in its database, so 3scale's
// clients (the toolbox, the 3scale Go client, Terraform providers) never
// see a 409 from a create and do not retry one; and Consul's own client
// handles a lost check-and-set by reading again and re-applying
// (hashicorp/consul api/semaphore.go, Acquire: "Update failed, could have
// been a race with another contender, retry the operation"; Release: a
// failed CAS goes back to READ).
func TestUnrelatedConcurrentWritesOnTwoStoresAllCommit(t *testing.T) {
	cl := newClient(t, testenv.StartConsul(t))
	a, b := open(t, cl), open(t, cl)
	var svcID int64
	first, err := a.Update(context.Background(), func(tx *composition.Tx) error {
		svc := &composition.Service{Name: "Shared"}
		if err := tx.Create(svc); err != nil {
			return err
		}
		svcID = svc.ID
		return nil
	})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // a safety bound
	_, err = b.Wait(ctx, first.Revision-1)
	cancel()
	require.NoError(t, err)

	const each = 60
	acks := &storetest.Acks{}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conflicts, failures []string
	for si, s := range []*consulstore.Store{a, b} {
		for i := range each {
			wg.Go(func() {
				name := fmt.Sprintf("m_%d_%d", si, i)
				snap, err := s.Update(context.Background(), func(tx *composition.Tx) error {
					return tx.Create(&composition.Metric{OwnerType: composition.OwnerService, OwnerID: svcID,
						SystemName: name, FriendlyName: name, Unit: "hit"})
				})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case errors.As(err, new(*consulstore.ErrConflict)):
					conflicts = append(conflicts, name)
				case err != nil:
					failures = append(failures, fmt.Sprintf("%s: %v", name, err))
				default:
					acks.Add(t, snap.Revision, name)
				}
			})
		}
	}
	wg.Wait()
	assert.Empty(t, conflicts, "unrelated writes answered 409 Conflict: %d of %d", len(conflicts), 2*each)
	assert.Empty(t, failures)
	require.Equal(t, 2*each, acks.Len())
	acks.Contiguous(t, first.Revision)

	fresh := open(t, cl).Snapshot()
	assert.Equal(t, first.Revision+2*each, fresh.Revision, "one revision per write")
	have := map[string]bool{}
	for _, m := range fresh.MetricsOf(composition.OwnerService, svcID) {
		have[m.SystemName] = true
	}
	for si := range 2 {
		for i := range each {
			assert.True(t, have[fmt.Sprintf("m_%d_%d", si, i)], "m_%d_%d lost", si, i)
		}
	}
}

// The same system_name created through both stores at once, each write's
// function first run on a snapshot that predates the other's: one wins,
// and the other, run again on the winner's revision, is refused as porta
// refuses it, 422 "has already been taken" (porta: the uniqueness
// validation of system_name), never 409.
func TestSameSystemNameOnTwoStoresIsTakenNotConflict(t *testing.T) {
	cl := newClient(t, testenv.StartConsul(t))
	stores := []*consulstore.Store{open(t, cl), open(t, cl)}
	var ready sync.WaitGroup
	ready.Add(2)
	errs := make([]error, 2)
	runs := make([]int, 2)
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() {
			_, errs[i] = s.Update(context.Background(), func(tx *composition.Tx) error {
				runs[i]++
				if runs[i] == 1 { // both first runs see revision 0
					ready.Done()
					ready.Wait()
				}
				return tx.Create(&composition.Service{Name: fmt.Sprintf("Store %d", i), SystemName: "shared"})
			})
		})
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		if err == nil {
			won++
			continue
		}
		assert.False(t, errors.As(err, new(*consulstore.ErrConflict)), "store %d: told as a conflict: %v", i, err)
		var invalid *composition.ValidationError
		if assert.ErrorAs(t, err, &invalid, "store %d", i) {
			assert.Equal(t, []string{"has already been taken"}, invalid.Fields["system_name"])
		}
	}
	assert.Equal(t, 1, won, "%v", errs)
	assert.EqualValues(t, 1, open(t, cl).Snapshot().Revision, "only the winner's revision")
}
