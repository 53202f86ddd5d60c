package ledger

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

var testJournalHeader = []byte("portolan-usage-journal 1 \"inst-1\" \"inst\"\n")

// On Linux the journal is mapped: records cost no system call, and what
// Admit recorded is in the file without a close (kill -9 loses nothing).
func TestMappedJournalHoldsRecordsWithoutAClose(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the journal is mapped on Linux only; elsewhere it is written with write(2)")
	}
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
	if runtime.GOOS != "linux" {
		t.Skip("the journal is mapped on Linux only")
	}
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

// Where the journal cannot be mapped it is written with write(2): the same
// file, read the same way, a torn write cut off.
func TestWrittenJournalRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x"+journalSuffix)
	j, err := createJournalFile(path, testJournalHeader, 1<<20)
	require.NoError(t, err)
	defer j.Close()
	if j.m != nil { // as mapJournal leaves a file it could not map
		unmapJournal(j.m)
		j.m = nil
		require.NoError(t, j.f.Truncate(j.n))
	}
	require.NoError(t, j.Append(appendRecord(nil, 5, 6, 29000000, 2)))
	require.NoError(t, j.Append(appendRecord(nil, 5, 6, 29000000, 3)))
	assert.EqualValues(t, len(testJournalHeader)+2*recordSize, j.n)
	_, _, usage, err := readJournal(path)
	require.NoError(t, err)
	assert.Equal(t, map[usageKey]int64{{5, 6, 29000000}: 5}, usage)
}

// Zeros after the records end them; a record torn in front of them is
// ignored; anything else after a bad record is damage.
func TestJournalReservedSpaceAndTornRecord(t *testing.T) {
	b := appendRecord(append([]byte(nil), testJournalHeader...), 5, 6, 29000000, 2)
	rec := appendRecord(nil, 5, 6, 29000000, 3)
	_, _, usage, err := parseJournal(append(append([]byte(nil), b...), make([]byte, 4*recordSize)...))
	require.NoError(t, err)
	assert.Equal(t, map[usageKey]int64{{5, 6, 29000000}: 2}, usage)

	torn := append(append(append([]byte(nil), b...), rec[:20]...), make([]byte, 3*recordSize-20)...)
	_, _, usage, err = parseJournal(torn)
	require.NoError(t, err, "a torn last record")
	assert.Equal(t, map[usageKey]int64{{5, 6, 29000000}: 2}, usage)

	damaged := append(append(append([]byte(nil), b...), make([]byte, recordSize)...), rec...)
	_, _, usage, err = parseJournal(damaged)
	assert.Error(t, err, "records after a bad one: damage, not the end")
	assert.Equal(t, map[usageKey]int64{{5, 6, 29000000}: 2}, usage)
}
