package ledger

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/registry"
)

// An agent registered with join token A admits usage and is killed before
// the batch is cut: only its journal holds it. The next incarnation, on the
// same cache dir and registered with token B (A rotated out), rebuilds the
// batch from the journal. The batch names A, the token it was admitted
// under, not the bootstrap token's space, where any instance registered
// with the bootstrap token may have claimed its id first (ids are on the
// map) and voided its usage.
func TestBatchRebuiltFromAJournalKeepsTheTokenItWasAdmittedUnder(t *testing.T) {
	co, admin, svc, metric, app := rotationHome(t)
	ctx := context.Background()
	dir := t.TempDir()
	a, err := admin.CreateJoinToken(ctx, &registry.JoinTokenSpec{Service: "rot"})
	require.NoError(t, err)

	l1, _ := incarnation(t, co, dir, "jr-one", svc, a)
	require.NoError(t, l1.Admit(app, []composition.Hit{{MetricID: metric, Delta: 5}}, time.Now(), admitAny))
	l1.mu.Lock()
	id := l1.batchID(l1.openSeq)
	l1.mu.Unlock()
	require.NoError(t, l1.Close()) // killed: the journal is all that is left

	// An instance registered with the bootstrap token claims that id first
	// in its own space, with a request of its own.
	_, bootstrap := incarnation(t, co, t.TempDir(), "jr-other", svc, nil)
	reply, err := bootstrap.PostUsage(ctx, &registry.UsageBatch{ID: id, Instance: "jr-other", ServiceID: svc,
		Entries: []registry.UsageEntry{{ApplicationID: app, MetricID: metric, Minute: time.Now().Unix() / 60, Delta: 1}}})
	require.NoError(t, err)
	require.False(t, reply.Duplicate)

	b, err := admin.CreateJoinToken(ctx, &registry.JoinTokenSpec{Service: "rot"})
	require.NoError(t, err)
	require.NoError(t, admin.RevokeJoinToken(ctx, a.ID))
	l2, home2 := incarnation(t, co, dir, "jr-two", svc, b)
	require.Equal(t, 1, l2.spooled(), "the journal's batch")
	onDisk := func() []string {
		raw, err := os.ReadFile(filepath.Join(dir, usageDir, seqName(l2.spool[0].seq)+batchSuffix))
		require.NoError(t, err)
		var got registry.UsageBatch
		require.NoError(t, json.Unmarshal(raw, &got))
		require.Equal(t, id, got.ID)
		return got.SentWith
	}
	assert.Equal(t, []string{a.ID}, onDisk(), "rebuilt from the journal, the batch names the token it was admitted under")
	require.Error(t, l2.flush(ctx, replyLost{home2, id}))
	assert.Equal(t, []string{a.ID, b.ID}, onDisk())
	assert.EqualValues(t, 6, statsTotal(t, co, app, "calls"), "the other instance's 1 and the journal's 5")
	require.NoError(t, l2.flush(ctx, home2)) // sent again: home has it already
	assert.EqualValues(t, 6, statsTotal(t, co, app, "calls"), "counted once")
}
