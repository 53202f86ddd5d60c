package ledger

// The journal is mapped on Linux only (journal_map_linux.go); elsewhere it
// is written with write(2), which journal_file_test.go covers.

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// On Linux the journal is mapped: records cost no system call, and what
// Admit recorded is in the file without a close (kill -9 loses nothing).
func TestMappedJournalHoldsRecordsWithoutAClose(t *testing.T) {
	dir := t.TempDir()
	l := newTestLedger(t, dir, "i-a")
	now := time.Now()
	admitN(t, l, 3, now)
	l.mu.Lock()
	j := l.journal
	l.mu.Unlock()
	require.NotNil(t, j.m, "mapped")

	// More records than one reservation holds: the file grows under the mapping.
	want := int64(3)
	for range journalGrowBytes/recordSize + 100 {
		require.NoError(t, l.Admit(testApp, []composition.Hit{{MetricID: testHits, Delta: 1}}, now, admitAny))
		want++
	}
	fi, err := os.Stat(j.Name())
	require.NoError(t, err)
	assert.Greater(t, fi.Size(), int64(journalGrowBytes), "reserved past the first step")
	assert.Zero(t, fi.Size()%journalGrowBytes, "reserved in steps")

	_, _, usage, err := readJournal(j.Name())
	require.NoError(t, err, "the reserved zeros end the records")
	assert.Equal(t, want, usage[usageKey{testApp, testHits, now.Unix() / 60}])
}

// A mapped journal's file cut short under it (an operator, a volume gone)
// faults on the next record: an error, not a crashed agent. The hits are
// refused, not counted, and the next Admit cuts the batch (its usage is in
// memory) and starts a new journal.
func TestMappedJournalFaultIsAnError(t *testing.T) {
	dir := t.TempDir()
	l := newTestLedger(t, dir, "i-a")
	now := time.Now()
	admitN(t, l, 1, now)
	l.mu.Lock()
	first := l.journal
	require.NotNil(t, first.m)
	require.NoError(t, os.Truncate(first.Name(), 0))
	l.mu.Unlock()

	err := l.Admit(testApp, []composition.Hit{{MetricID: testHits, Delta: 1}}, now, admitAny)
	require.ErrorIs(t, err, errJournalFault)
	assert.EqualValues(t, 1, l.Current(testApp, testHits, "minute", minuteOf(now)), "the refused hit is not counted")

	require.NoError(t, l.Admit(testApp, []composition.Hit{{MetricID: testHits, Delta: 1}}, now, admitAny))
	l.mu.Lock()
	assert.NotSame(t, first, l.journal, "a new journal")
	assert.Len(t, l.spool, 1, "the first batch, cut")
	l.mu.Unlock()
	n, _ := spoolTotal(l)
	assert.EqualValues(t, 1, n)
	assert.EqualValues(t, 2, l.Current(testApp, testHits, "minute", minuteOf(now)))
}
