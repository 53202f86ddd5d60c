package ledger

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The backlog is the batches home has not acknowledged and the age of the
// oldest: it follows cuts and acknowledgements, oldest first.
func TestUsageBacklogFollowsCutsAndAcks(t *testing.T) {
	l := newTestLedger(t, "", "i-1")
	now := time.Now()
	n, age := l.Backlog(now)
	assert.Equal(t, 0, n, "nothing cut yet")
	assert.Zero(t, age, "nothing cut yet")

	admitN(t, l, 2, now)
	first := cutOne(t, l)
	admitN(t, l, 1, now)
	second := cutOne(t, l)
	n, age = l.Backlog(first.cut.Add(3 * time.Second))
	assert.Equal(t, 2, n)
	assert.Equal(t, 3*time.Second, age, "the oldest batch's age")

	l.acked(first, nil, now)
	n, age = l.Backlog(second.cut.Add(time.Second))
	assert.Equal(t, 1, n)
	assert.Equal(t, time.Second, age, "the oldest is the second batch once the first is acknowledged")

	l.acked(second, nil, now)
	n, age = l.Backlog(now.Add(time.Hour))
	assert.Equal(t, 0, n)
	assert.Zero(t, age, "home has all the usage")

	n, age = l.Backlog(time.Time{})
	assert.Zero(t, n)
	assert.Zero(t, age, "never negative")
}

// A batch a previous run left counts from when its file was written, not
// from the restart: the lag an outage built up survives the agent's restart.
func TestUsageBacklogOfARecoveredBatchKeepsItsAge(t *testing.T) {
	dir := t.TempDir()
	l := newTestLedger(t, dir, "i-1")
	admitN(t, l, 3, time.Now())
	sb := cutOne(t, l)
	written := time.Now().Add(-time.Hour)
	require.NoError(t, os.Chtimes(filepath.Join(dir, usageDir, seqName(sb.seq)+batchSuffix), written, written))

	again := newTestLedger(t, dir, "i-1")
	n, age := again.Backlog(written.Add(90 * time.Minute))
	assert.Equal(t, 1, n)
	assert.InDelta(t, (90 * time.Minute).Seconds(), age.Seconds(), 1, "age counted from the batch file's write")
}
