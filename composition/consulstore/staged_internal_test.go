package consulstore

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/testenv"
)

// commitUnfinished stages and commits a large revision creating n metrics
// of svc through s, and stops there, as a coordinator killed before it
// copied the stage to the entity keys does.
func commitUnfinished(t *testing.T, s *Store, svc int64, n int) *composition.Composition {
	t.Helper()
	tx := composition.NewTx(s.Snapshot(), time.Now())
	require.NoError(t, createMetrics(svc, "big", n)(tx))
	r, err := s.encode(tx.Changes(), tx.Result())
	require.NoError(t, err)
	require.True(t, r.large)
	var b txnBatch
	b.add(r)
	mv, err := json.Marshal(meta{Revision: r.next.Revision, LastID: r.next.LastID})
	require.NoError(t, err)
	s.mu.Lock()
	idx := s.metaIndex
	s.mu.Unlock()
	require.NoError(t, s.stageAndCommit(context.Background(), &b, idx, mv))
	return r.next
}

// keysUnder lists the keys under prefix.
func keysUnder(t *testing.T, cl *api.Client, prefix string) []string {
	t.Helper()
	keys, _, err := cl.KV().Keys(prefix, "", nil)
	require.NoError(t, err)
	return keys
}

// A large revision committed and not copied to its keys (its writer was
// killed) is the composition all the same: another coordinator reads it
// whole, laying the stage over the keys, and finishes it before its own
// next write, which goes on top.
func TestUnfinishedLargeRevisionIsReadWholeAndFinishedByTheNextWrite(t *testing.T) {
	cl := testenv.StartConsul(t).Client(t)
	writer := openInternal(t, cl)
	svc := newService(t, writer, "svc")
	other := openInternal(t, cl)

	want := commitUnfinished(t, writer, svc, 150)
	assert.Empty(t, keysUnder(t, cl, writer.root+string(composition.KindMetric)+"/big"), "nothing copied yet")
	require.Len(t, keysUnder(t, cl, writer.pendingKey), 1)

	require.Eventually(t, func() bool { return other.Snapshot().Revision == want.Revision }, 10*time.Second, 10*time.Millisecond)
	assert.Len(t, other.Snapshot().MetricsOf(composition.OwnerService, svc), 1+150, "the whole revision, from the stage")

	snap, err := other.Update(context.Background(), createMetrics(svc, "after", 2))
	require.NoError(t, err, "no conflict: the write finishes the revision, then goes on top")
	assert.Equal(t, want.Revision+1, snap.Revision)
	assert.Len(t, keysUnder(t, cl, writer.root+string(composition.KindMetric)+"/"), 1+150+2)
	assert.Empty(t, keysUnder(t, cl, writer.pendingKey))
	assert.Empty(t, keysUnder(t, cl, writer.stagedRoot))
	fresh := openInternal(t, cl).Snapshot()
	assert.Equal(t, snap.Revision, fresh.Revision)
	assert.Len(t, fresh.MetricsOf(composition.OwnerService, svc), 1+150+2)
}

// A coordinator that opens on an unfinished large revision finishes it;
// one already following it sees the finish without a new revision, and
// writes on without a conflict.
func TestOpenFinishesAnUnfinishedLargeRevision(t *testing.T) {
	cl := testenv.StartConsul(t).Client(t)
	writer := openInternal(t, cl)
	svc := newService(t, writer, "svc")
	follower := openInternal(t, cl)
	want := commitUnfinished(t, writer, svc, 70)
	require.Eventually(t, func() bool { return follower.Snapshot().Revision == want.Revision }, 10*time.Second, 10*time.Millisecond)

	opened := openInternal(t, cl)
	assert.Equal(t, want.Revision, opened.Snapshot().Revision)
	assert.Empty(t, keysUnder(t, cl, writer.pendingKey), "finished when it opened")
	assert.Empty(t, keysUnder(t, cl, writer.stagedRoot))
	assert.Len(t, keysUnder(t, cl, writer.root+string(composition.KindMetric)+"/"), 1+70)
	require.Eventually(t, func() bool { return !follower.pendingAt(want.Revision) }, 10*time.Second, 10*time.Millisecond,
		"the follower saw it finished")
	_, err := follower.Update(context.Background(), createMetrics(svc, "after", 1))
	require.NoError(t, err)
}

// Two coordinators committing large revisions on the same base: Consul's
// check-and-set lets one through, the other is told to retry, and no stage
// is left behind either way.
func TestConcurrentLargeRevisionsLeaveNoStage(t *testing.T) {
	cl := testenv.StartConsul(t).Client(t)
	a := openInternal(t, cl)
	svc := newService(t, a, "svc")
	b := openInternal(t, cl)
	require.Eventually(t, func() bool { return b.Snapshot().Revision == a.Snapshot().Revision }, 10*time.Second, 10*time.Millisecond)
	base := a.Snapshot().Revision

	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, s := range []*Store{a, b} {
		wg.Go(func() {
			_, errs[i] = s.Update(context.Background(), createMetrics(svc, string(rune('a'+i))+"m", 100))
		})
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
			continue
		}
		var conflict *ErrConflict
		assert.ErrorAs(t, err, &conflict)
	}
	require.GreaterOrEqual(t, won, 1)
	fresh := openInternal(t, cl).Snapshot()
	assert.Equal(t, base+uint64(won), fresh.Revision)
	assert.Len(t, fresh.MetricsOf(composition.OwnerService, svc), 1+100*won)
	assert.Empty(t, keysUnder(t, cl, a.stagedRoot), "the loser's stage is dropped")
	assert.Empty(t, keysUnder(t, cl, a.pendingKey))
}

// A stage its writer left before committing it (killed between the two
// steps) is swept by the next large revision, once no commit can name it.
func TestAbandonedStageIsSwept(t *testing.T) {
	cl := testenv.StartConsul(t).Client(t)
	s := openInternal(t, cl)
	svc := newService(t, s, "svc")
	dead := "1-00000000deadbeef"
	require.NoError(t, s.stage(context.Background(), dead, api.KVTxnOps{
		{Verb: api.KVSet, Key: s.root + "metrics/999", Value: []byte(`{}`)},
		{Verb: api.KVDelete, Key: s.root + "metrics/998"},
	}))
	require.Len(t, keysUnder(t, cl, s.stagePrefix(dead)), 2)

	_, err := s.Update(context.Background(), createMetrics(svc, "big", MaxChanges+1))
	require.NoError(t, err)
	assert.Empty(t, keysUnder(t, cl, s.stagedRoot))
	for _, k := range keysUnder(t, cl, s.root) {
		assert.False(t, strings.HasSuffix(k, "/999"), "the abandoned stage was never applied: %s", k)
	}
}
