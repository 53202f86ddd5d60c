package consulstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/composition/consulstore"
	"github.com/portolan/portolan/internal/testenv"
)

const prefix = "test/"

func newClient(t testing.TB, c *testenv.Consul) *api.Client {
	t.Helper()
	cfg := api.DefaultConfig()
	cfg.Address = c.URL
	cl, err := api.NewClient(cfg)
	require.NoError(t, err)
	return cl
}

func open(t testing.TB, cl *api.Client) *consulstore.Store {
	t.Helper()
	s, err := consulstore.Open(context.Background(), consulstore.Config{Client: cl, Prefix: prefix, Logger: zerolog.Nop()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// dump renders every entity of c by kind, for comparison.
func dump(t *testing.T, c *composition.Composition) map[composition.Kind][]string {
	t.Helper()
	out := map[composition.Kind][]string{}
	for _, k := range composition.Kinds {
		c.Each(k, func(e composition.Entity) {
			b, err := json.Marshal(e)
			require.NoError(t, err)
			out[k] = append(out[k], string(b))
		})
		sort.Strings(out[k])
	}
	return out
}

func keys(t *testing.T, cl *api.Client) map[string]*api.KVPair {
	t.Helper()
	pairs, _, err := cl.KV().List(prefix, nil)
	require.NoError(t, err)
	m := map[string]*api.KVPair{}
	for _, p := range pairs {
		m[p.Key] = p
	}
	return m
}

func TestWritesSurviveReopen(t *testing.T) {
	cl := newClient(t, testenv.StartConsul(t))
	ctx := context.Background()
	s, err := consulstore.Open(ctx, consulstore.Config{Client: cl, Prefix: prefix})
	require.NoError(t, err)

	var svcID int64
	_, err = s.Update(ctx, func(tx *composition.Tx) error {
		svc := &composition.Service{Name: "One"}
		if err := tx.Create(svc); err != nil {
			return err
		}
		svcID = svc.ID
		return tx.Create(&composition.Service{Name: "Two"})
	})
	require.NoError(t, err)
	_, err = s.Update(ctx, func(tx *composition.Tx) error {
		return tx.Create(&composition.Metric{OwnerType: composition.OwnerService, OwnerID: svcID, SystemName: "m1", FriendlyName: "M1", Unit: "hit"})
	})
	require.NoError(t, err)
	var metricID int64
	tx2 := s.Snapshot()
	for _, m := range tx2.MetricsOf(composition.OwnerService, svcID) {
		if m.SystemName == "m1" {
			metricID = m.ID
		}
	}
	require.NotZero(t, metricID)
	before, err := s.Update(ctx, func(tx *composition.Tx) error { return tx.Delete(composition.KindMetric, metricID) })
	require.NoError(t, err)
	require.EqualValues(t, 3, before.Revision)
	require.NoError(t, s.Close())

	_, err = s.Update(ctx, func(tx *composition.Tx) error { return nil })
	require.ErrorIs(t, err, composition.ErrClosed)

	s2 := open(t, cl)
	after := s2.Snapshot()
	assert.Equal(t, before.Revision, after.Revision)
	assert.Equal(t, before.LastID, after.LastID)
	assert.Equal(t, dump(t, before), dump(t, after))
	_, ok := after.ServiceBySystemName("one")
	assert.True(t, ok)

	// The reopened store writes on top.
	s3, err := s2.Update(ctx, func(tx *composition.Tx) error { return tx.Create(&composition.Service{Name: "Three"}) })
	require.NoError(t, err)
	assert.EqualValues(t, 4, s3.Revision)
}

func TestWriteVisibleInOtherStore(t *testing.T) {
	cl := newClient(t, testenv.StartConsul(t))
	ctx := context.Background()
	a, b := open(t, cl), open(t, cl)

	for i, w := range []struct{ from, to *consulstore.Store }{{a, b}, {b, a}, {a, b}} {
		name := fmt.Sprintf("Service %d", i)
		snap, err := w.from.Update(ctx, func(tx *composition.Tx) error { return tx.Create(&composition.Service{Name: name}) })
		require.NoError(t, err)
		wctx, cancel := context.WithTimeout(ctx, time.Second)
		got, err := w.to.Wait(wctx, snap.Revision-1)
		cancel()
		require.NoError(t, err, "write %d not visible in the other store within 1s", i)
		assert.Equal(t, snap.Revision, got.Revision)
		assert.Equal(t, dump(t, snap), dump(t, got))
	}
}

func TestConcurrentConflictingWrites(t *testing.T) {
	cl := newClient(t, testenv.StartConsul(t))
	ctx := context.Background()
	stores := []*consulstore.Store{open(t, cl), open(t, cl)}
	require.EqualValues(t, 0, stores[0].Snapshot().Revision)
	require.EqualValues(t, 0, stores[1].Snapshot().Revision)

	var ready sync.WaitGroup
	ready.Add(2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var once sync.Once
			_, errs[i] = s.Update(ctx, func(tx *composition.Tx) error {
				// Both first runs' snapshots predate the other's write;
				// the loser's fn runs again on the winner's.
				once.Do(func() {
					ready.Done()
					ready.Wait()
				})
				return tx.Create(&composition.Service{Name: fmt.Sprintf("Store %d", i), SystemName: "shared"})
			})
		}()
	}
	wg.Wait()

	winner, loser := -1, -1
	for i, err := range errs {
		if err == nil {
			require.Equal(t, -1, winner, "both writes succeeded")
			winner = i
			continue
		}
		// Run again on the winner's revision, it is refused as taken
		// (conflict_retry_test.go), not told to retry.
		var verr *composition.ValidationError
		require.ErrorAs(t, err, &verr)
		assert.Contains(t, verr.FieldErrors(), "system_name")
		loser = i
	}
	require.NotEqual(t, -1, winner, "no write succeeded: %v", errs)
	require.NotEqual(t, -1, loser)

	// Nothing half-written: only the winner's revision, in one transaction.
	kv := keys(t, cl)
	var m struct {
		Revision uint64 `json:"revision"`
	}
	meta := kv[prefix+"composition/meta"]
	require.NotNil(t, meta)
	require.NoError(t, json.Unmarshal(meta.Value, &m))
	assert.EqualValues(t, 1, m.Revision)
	svc, ok := stores[winner].Snapshot().ServiceBySystemName("shared")
	require.True(t, ok)
	want := map[string]bool{prefix + "composition/meta": true}
	for _, ch := range []composition.Kind{composition.KindService, composition.KindMetric, composition.KindProxy} {
		stores[winner].Snapshot().Each(ch, func(e composition.Entity) {
			want[fmt.Sprintf("%scomposition/%s/%d", prefix, ch, e.Key())] = true
		})
	}
	got := map[string]bool{}
	for k, p := range kv {
		got[k] = true
		assert.Equal(t, meta.ModifyIndex, p.ModifyIndex, "%s written by another transaction", k)
	}
	assert.Equal(t, want, got)
	var stored composition.Service
	require.NoError(t, json.Unmarshal(kv[fmt.Sprintf("%scomposition/services/%d", prefix, svc.ID)].Value, &stored))
	assert.Equal(t, fmt.Sprintf("Store %d", winner), stored.Name)

	// The loser has loaded the winner's write: a retry is a validation error.
	assert.EqualValues(t, 1, stores[loser].Snapshot().Revision)
	_, err := stores[loser].Update(ctx, func(tx *composition.Tx) error {
		return tx.Create(&composition.Service{Name: fmt.Sprintf("Store %d", loser), SystemName: "shared"})
	})
	var verr *composition.ValidationError
	require.ErrorAs(t, err, &verr)
	assert.Contains(t, verr.FieldErrors(), "system_name")

	// And it can write something else.
	snap, err := stores[loser].Update(ctx, func(tx *composition.Tx) error {
		return tx.Create(&composition.Service{Name: "Other"})
	})
	require.NoError(t, err)
	assert.EqualValues(t, 2, snap.Revision)
}

// A write touching more entities than one Consul transaction takes (64
// operations) is one revision all the same: staged, committed by the meta
// key's check-and-set, then copied to its keys (staged.go). Nothing of the
// stage is left, and every store reads the whole revision.
func TestWriteOverTxnLimitIsOneRevision(t *testing.T) {
	cl := newClient(t, testenv.StartConsul(t))
	ctx := context.Background()
	s := open(t, cl)
	other := open(t, cl)
	snap, err := s.Update(ctx, func(tx *composition.Tx) error { return tx.Create(&composition.Service{Name: "Big"}) })
	require.NoError(t, err)
	svc, ok := snap.ServiceBySystemName("big")
	require.True(t, ok)
	before := keys(t, cl)

	create := func(n int) func(tx *composition.Tx) error {
		return func(tx *composition.Tx) error {
			for i := range n {
				if err := tx.Create(&composition.Metric{OwnerType: composition.OwnerService, OwnerID: svc.ID,
					SystemName: fmt.Sprintf("m%d", i), FriendlyName: fmt.Sprintf("M%d", i), Unit: "hit"}); err != nil {
					return err
				}
			}
			return nil
		}
	}
	const n = 5*consulstore.MaxChanges + 7
	next, err := s.Update(ctx, create(n))
	require.NoError(t, err)
	assert.Equal(t, snap.Revision+1, next.Revision)
	assert.Len(t, next.MetricsOf(composition.OwnerService, svc.ID), 1+n)
	after := keys(t, cl)
	assert.Len(t, after, len(before)+n, "the entity keys, and nothing of the stage or the pending key")
	for k := range after {
		assert.NotContains(t, k, "staged/")
		assert.NotContains(t, k, "composition/pending")
	}
	require.Eventually(t, func() bool { return other.Snapshot().Revision == next.Revision }, 10*time.Second, 10*time.Millisecond)
	assert.Equal(t, dump(t, next), dump(t, other.Snapshot()), "another coordinator follows it")
	assert.Equal(t, dump(t, next), dump(t, open(t, cl).Snapshot()), "and reads it when it opens")

	// Deleting them is one revision too, and the other store writes on it.
	gone, err := other.Update(ctx, func(tx *composition.Tx) error {
		for _, m := range other.Snapshot().MetricsOf(composition.OwnerService, svc.ID) {
			if m.SystemName != "hits" {
				if err := tx.Delete(composition.KindMetric, m.ID); err != nil {
					return err
				}
			}
		}
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, next.Revision+1, gone.Revision)
	assert.Equal(t, len(before), len(keys(t, cl)))
	require.Eventually(t, func() bool { return s.Snapshot().Revision == gone.Revision }, 10*time.Second, 10*time.Millisecond)
	_, err = s.Update(ctx, create(3))
	require.NoError(t, err, "the first store writes on the other's large revision")
}

// A large revision is bounded by the commit timeout in each of its Consul
// transactions, not in all of them together: one that takes longer than
// the timeout in all is written, and the write after it is too.
func TestLargeRevisionMayTakeLongerThanTheCommitTimeout(t *testing.T) {
	cl := newClient(t, testenv.StartConsul(t))
	ctx := context.Background()
	s, err := consulstore.Open(ctx, consulstore.Config{Client: cl, Prefix: prefix, Logger: zerolog.Nop(), CommitTimeout: 300 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	snap, err := s.Update(ctx, func(tx *composition.Tx) error { return tx.Create(&composition.Service{Name: "Big"}) })
	require.NoError(t, err)
	svc, _ := snap.ServiceBySystemName("big")

	const n = 4000 // some 130 transactions: about a second on a quiet machine
	start := time.Now()
	next, err := s.Update(ctx, func(tx *composition.Tx) error {
		for i := range n {
			if err := tx.Create(&composition.Metric{OwnerType: composition.OwnerService, OwnerID: svc.ID,
				SystemName: fmt.Sprintf("m%d", i), FriendlyName: fmt.Sprintf("M%d", i), Unit: "hit"}); err != nil {
				return err
			}
		}
		return nil
	})
	require.NoError(t, err)
	took := time.Since(start)
	for k := range keys(t, cl) {
		require.NotContains(t, k, "composition/pending", "the writer finished it (took %v)", took)
	}
	assert.Len(t, open(t, cl).Snapshot().MetricsOf(composition.OwnerService, svc.ID), 1+n)
	if took < 300*time.Millisecond {
		t.Logf("the revision took %v, less than the timeout: this run proves nothing", took)
	}
	_, err = s.Update(ctx, func(tx *composition.Tx) error { return tx.Create(&composition.Service{Name: "After"}) })
	require.NoError(t, err)
	assert.Equal(t, next.Revision+1, s.Snapshot().Revision)
}

// A revision whose Consul transaction would exceed Consul's txn_max_req_len
// (a large ActiveDoc) is refused before it is sent, as a validation error
// naming the limit and the entity, and nothing is written.
func TestRevisionOverConsulsTxnMaxReqLenIsRefusedAndNothingWritten(t *testing.T) {
	cl := newClient(t, testenv.StartConsul(t))
	s := open(t, cl)
	require.NoError(t, createNamed(s, "one"))
	before := keys(t, cl)
	desc := strings.Repeat("a", 600<<10) // well under the 4 MiB the composition allows
	body := `{"openapi":"3.0.0","info":{"title":"Big","version":"1","description":"` + desc + `"},"paths":{}}`
	_, err := s.Update(context.Background(), func(tx *composition.Tx) error {
		return tx.Create(&composition.ActiveDoc{Name: "Big", Body: body})
	})
	var verr *composition.ValidationError
	require.ErrorAs(t, err, &verr)
	assert.Contains(t, err.Error(), "txn_max_req_len")
	assert.Contains(t, err.Error(), "512 KiB")
	assert.Contains(t, err.Error(), "active_docs/")
	assert.EqualValues(t, 1, s.Snapshot().Revision)
	assert.Equal(t, before, keys(t, cl), "nothing written")

	// Just under the limit is stored.
	_, err = s.Update(context.Background(), func(tx *composition.Tx) error {
		return tx.Create(&composition.ActiveDoc{Name: "Smaller", Body: strings.Replace(body, desc, strings.Repeat("a", 360<<10), 1)})
	})
	require.NoError(t, err)
}

func TestOpenWithoutClient(t *testing.T) {
	_, err := consulstore.Open(context.Background(), consulstore.Config{})
	require.Error(t, err)
	assert.False(t, errors.Is(err, composition.ErrClosed))
}
