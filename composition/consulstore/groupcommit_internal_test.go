package consulstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/testenv"
)

func openInternal(t *testing.T, cl *api.Client) *Store {
	t.Helper()
	s, err := Open(context.Background(), Config{Client: cl, Prefix: "internal/", Logger: zerolog.Nop()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func newWrite(fn func(*composition.Tx) error) *composition.Write {
	return composition.NewWrite(context.Background(), fn)
}

// results runs group through commitGroup and returns each write's answer.
func results(s *Store, group []*composition.Write) []composition.WriteResult {
	s.commitGroup(group)
	out := make([]composition.WriteResult, len(group))
	for i, w := range group {
		out[i] = w.Wait()
	}
	return out
}

// createMetrics creates n metrics of service svc, named prefix0…
func createMetrics(svc int64, prefix string, n int) func(*composition.Tx) error {
	return func(tx *composition.Tx) error {
		for i := range n {
			name := fmt.Sprintf("%s%d", prefix, i)
			if err := tx.Create(&composition.Metric{OwnerType: composition.OwnerService, OwnerID: svc,
				SystemName: name, FriendlyName: name, Unit: "hit"}); err != nil {
				return err
			}
		}
		return nil
	}
}

// modifyIndexes returns the ModifyIndex of every key under the store's root.
func modifyIndexes(t *testing.T, s *Store) map[string]uint64 {
	t.Helper()
	pairs, _, err := s.kv.List(s.root, nil)
	require.NoError(t, err)
	out := map[string]uint64{}
	for _, p := range pairs {
		out[p.Key] = p.ModifyIndex
	}
	return out
}

func newService(t *testing.T, s *Store, name string) int64 {
	t.Helper()
	snap, err := s.Update(context.Background(), func(tx *composition.Tx) error {
		return tx.Create(&composition.Service{Name: name, SystemName: name})
	})
	require.NoError(t, err)
	svc, ok := snap.ServiceBySystemName(name)
	require.True(t, ok)
	return svc.ID
}

// A group shares one transaction while it fits Consul's limit of 64
// operations, and is split in order when it does not; a write that cannot
// be one transaction is committed alone, staged (staged.go).
func TestCommitGroupSplitsAtTxnLimit(t *testing.T) {
	cl := testenv.StartConsul(t).Client(t)
	s := openInternal(t, cl)
	svc := newService(t, s, "svc")
	base := s.Snapshot().Revision
	before := modifyIndexes(t, s)
	group := []*composition.Write{
		newWrite(createMetrics(svc, "a", 20)),
		newWrite(createMetrics(svc, "b", 20)),
		newWrite(createMetrics(svc, "c", MaxChanges+1)), // too big for any transaction: staged, alone
		newWrite(createMetrics(svc, "d", 20)),
		newWrite(createMetrics(svc, "e", 30)), // 50 operations with d: one transaction
		newWrite(createMetrics(svc, "f", 20)), // 70 with d and e: the next
		newWrite(func(*composition.Tx) error { return nil }),
	}
	res := results(s, group)
	for i, want := range []uint64{base + 1, base + 2, base + 3, base + 4, base + 5, base + 6, base + 6} {
		require.NoError(t, res[i].Err, "write %d", i)
		assert.Equal(t, want, res[i].Snap.Revision, "write %d", i)
	}
	assert.Equal(t, base+6, s.Snapshot().Revision)

	// a and b in one transaction; c's 64 copied in two after its stage; d
	// and e in one; f in the last, with the meta key.
	metricsAt := map[uint64]int{} // transaction's index → metrics it wrote
	after := modifyIndexes(t, s)
	for k, idx := range after {
		if before[k] != idx && strings.HasPrefix(k, s.root+string(composition.KindMetric)+"/") {
			metricsAt[idx]++
		}
	}
	counts := make([]int, 0, len(metricsAt))
	for _, idx := range slices.Sorted(maps.Keys(metricsAt)) {
		counts = append(counts, metricsAt[idx])
	}
	assert.Equal(t, []int{40, MaxChanges, 1, 50, 20}, counts, "metrics written by each transaction, in order")
	assert.Equal(t, 20, metricsAt[after[s.metaKey]], "f alone in the last, with the meta key")

	again := openInternal(t, cl).Snapshot()
	assert.Equal(t, base+6, again.Revision)
	assert.Len(t, again.MetricsOf(composition.OwnerService, svc), 1+20+20+MaxChanges+1+20+30+20)
}

// A key several revisions of a batch touch is one operation, with the
// value the last of them gave it.
func TestTxnBatchFoldsAKeyTouchedTwice(t *testing.T) {
	var b txnBatch
	for i := range 200 {
		r := revisionOps{next: &composition.Composition{Revision: uint64(i + 1)},
			ops: api.KVTxnOps{&api.KVTxnOp{Verb: api.KVSet, Key: "k", Value: []byte{byte(i)}}}, size: 2}
		require.True(t, b.fits(r, DefaultMaxTxnBytes), "revision %d", i+1)
		b.add(r)
	}
	r := revisionOps{next: &composition.Composition{Revision: 201}, ops: api.KVTxnOps{&api.KVTxnOp{Verb: api.KVDelete, Key: "k"}}, size: 1}
	b.add(r)
	require.Len(t, b.ops, 1)
	assert.Equal(t, api.KVDelete, b.ops[0].Verb)
	assert.EqualValues(t, 1, b.first.Revision)
	assert.EqualValues(t, 201, b.last.Revision)
	assert.Equal(t, "revisions 1 to 201", b.describe())

	big := revisionOps{next: &composition.Composition{Revision: 202},
		ops: api.KVTxnOps{&api.KVTxnOp{Verb: api.KVSet, Key: "big"}}, size: DefaultMaxTxnBytes}
	assert.False(t, b.fits(big, DefaultMaxTxnBytes), "over the byte bound")
	var alone txnBatch
	assert.True(t, alone.fits(big, DefaultMaxTxnBytes), "a revision alone is always sent (encode refuses one too large)")
}

// When another coordinator writes while a group is being committed, the
// transaction holding the writes built on the older revision fails
// (nothing of it written), and so would the write that ran on it; the
// store loads the newer composition, the group's later writes are
// committed on it, and the lost writes are run again on top, each with a
// revision of its own: none is answered ErrConflict.
func TestCommitGroupConflictMidGroup(t *testing.T) {
	cl := testenv.StartConsul(t).Client(t)
	s, other := openInternal(t, cl), openInternal(t, cl)
	svc := newService(t, s, "svc")
	waitRevision(t, other, s.Snapshot().Revision)
	base := s.Snapshot().Revision
	var theirs sync.Once
	var theirsErr error
	group := []*composition.Write{
		newWrite(createMetrics(svc, "a", 60)),
		newWrite(func(tx *composition.Tx) error {
			// The other coordinator writes first (once: this fn runs
			// again after the conflict).
			theirs.Do(func() {
				_, theirsErr = other.Update(context.Background(), func(tx *composition.Tx) error {
					return tx.Create(&composition.Service{Name: "theirs", SystemName: "theirs"})
				})
			})
			if theirsErr != nil {
				return theirsErr
			}
			return createMetrics(svc, "b", 10)(tx) // does not fit with a: a is committed first
		}),
		newWrite(createMetrics(svc, "c", 5)),
	}
	res := results(s, group)
	for i, r := range res {
		require.NoError(t, r.Err, "write %d", i)
	}
	assert.Equal(t, base+2, res[2].Snap.Revision, "on top of the other coordinator's revision")
	assert.Equal(t, base+3, res[0].Snap.Revision, "run again on top")
	assert.Equal(t, base+4, res[1].Snap.Revision, "run again on top, after a")

	snap := s.Snapshot()
	assert.Equal(t, base+4, snap.Revision)
	_, ok := snap.ServiceBySystemName("theirs")
	assert.True(t, ok, "the other coordinator's write loaded")
	assert.Len(t, snap.MetricsOf(composition.OwnerService, svc), 1+60+10+5, "every write's metrics, once")
	again := openInternal(t, cl).Snapshot()
	assert.Equal(t, dumpRevision(again), dumpRevision(snap))
	assert.Len(t, again.MetricsOf(composition.OwnerService, svc), 1+60+10+5)
}

// A write that loses its check-and-set on every try (another coordinator
// writes before each) is answered ErrConflict after conflictTries runs,
// nothing of it written: the retries are bounded.
func TestCommitGroupConflictTriesAreBounded(t *testing.T) {
	cl := testenv.StartConsul(t).Client(t)
	s, other := openInternal(t, cl), openInternal(t, cl)
	svc := newService(t, s, "svc")
	waitRevision(t, other, s.Snapshot().Revision)
	runs := 0
	res := results(s, []*composition.Write{newWrite(func(tx *composition.Tx) error {
		runs++
		if _, err := other.Update(context.Background(), func(tx *composition.Tx) error {
			return tx.Create(&composition.Service{Name: fmt.Sprintf("theirs %d", runs)})
		}); err != nil {
			return err
		}
		return createMetrics(svc, "mine", 1)(tx)
	})})
	var conflict *ErrConflict
	require.ErrorAs(t, res[0].Err, &conflict)
	assert.Equal(t, conflictTries, runs)
	again := openInternal(t, cl).Snapshot()
	assert.Len(t, again.MetricsOf(composition.OwnerService, svc), 1, "nothing of the lost write")
}

// When Consul cannot be reached every write of the group fails, those not
// yet run without waiting for another try, and nothing is published.
func TestCommitGroupConsulDown(t *testing.T) {
	c := testenv.StartConsul(t)
	s := openInternal(t, c.Client(t))
	newService(t, s, "svc")
	before := s.Snapshot()
	c.Kill()
	boom := errors.New("boom")
	group := []*composition.Write{
		newWrite(func(tx *composition.Tx) error {
			return tx.Create(&composition.Service{Name: "a", SystemName: "a"})
		}),
		newWrite(func(*composition.Tx) error { return boom }),
		newWrite(func(*composition.Tx) error { return nil }),
	}
	res := results(s, group)
	assert.Error(t, res[0].Err)
	assert.ErrorIs(t, res[1].Err, boom, "a write that failed alone keeps its error")
	assert.Error(t, res[2].Err, "a write that saw an uncommitted revision fails with it")
	for i, r := range res {
		assert.Nil(t, r.Snap, "write %d", i)
	}
	assert.Same(t, before, s.Snapshot(), "nothing published")
}

func waitRevision(t *testing.T, s *Store, rev uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // a safety bound
	defer cancel()
	_, err := s.Wait(ctx, rev-1)
	require.NoError(t, err)
}

func dumpRevision(c *composition.Composition) string {
	return fmt.Sprintf("%d/%d", c.Revision, c.LastID)
}

// encode's size of a revision bounds the /v1/txn body that carries it with
// the meta check-and-set, so a revision it takes is not refused by Consul's
// txn_max_req_len.
func TestTxnSizeBoundsTheBody(t *testing.T) {
	s := &Store{root: "portolan/composition/", metaKey: "portolan/composition/meta", maxTxn: DefaultMaxTxnBytes}
	changes := []composition.Change{
		{Kind: composition.KindService, ID: math.MaxInt64, Entity: &composition.Service{Name: strings.Repeat("é<&>", 1000)}},
		{Kind: composition.KindMetric, ID: 1}, // deleted
		{Kind: composition.KindActiveDoc, ID: 7, Entity: &composition.ActiveDoc{Name: "doc", Body: strings.Repeat("x", 100<<10)}},
	}
	r, err := s.encode(changes, &composition.Composition{Revision: math.MaxUint64, LastID: math.MaxInt64})
	require.NoError(t, err)
	mv, err := json.Marshal(meta{Revision: math.MaxUint64, LastID: math.MinInt64})
	require.NoError(t, err)
	ops := api.TxnOps{{KV: &api.KVTxnOp{Verb: api.KVCAS, Key: s.metaKey, Value: mv, Index: math.MaxUint64}}}
	for _, op := range r.ops {
		op.Index = math.MaxUint64
		ops = append(ops, &api.TxnOp{KV: op})
	}
	body, err := json.Marshal(ops)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, r.size, len(body), "encode's bound is below the body Consul receives")
	assert.Less(t, r.size, len(body)+len(ops)*txnOpBytes, "encode's bound is loose")
}
