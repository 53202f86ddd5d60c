package ledger

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// openJournal is the path of the open batch's journal.
func openJournal(t *testing.T, l *Ledger) string {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	require.NotNil(t, l.journal)
	return l.journal.Name()
}

// A record damaged in the middle of a journal (a bad sector, a lost page)
// costs that record only: the good records after it, each with its own
// checksum, are recovered, not dropped with the file.
func TestDamagedJournalRecordKeepsTheGoodRecordsAfterIt(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	a := newTestLedger(t, dir, "i-a")
	for _, d := range []int64{1, 10, 100} {
		require.NoError(t, a.Admit(testApp, []composition.Hit{{MetricID: testHits, Delta: d}}, now, admitAny))
	}
	path := openJournal(t, a)
	// kill -9; then the second record's bytes are damaged.
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	header := len(b) - len(b[indexNL(b)+1:])
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteAt([]byte{0xde, 0xad}, int64(header+recordSize+3))
	require.NoError(t, err)
	require.NoError(t, f.Close())

	again := newTestLedger(t, dir, "i-b")
	n, ids := spoolTotal(again)
	assert.EqualValues(t, 1+100, n, "the records before and after the damaged one")
	assert.Equal(t, []string{"i-a-1"}, ids, "under the journal's batch id")
}

func indexNL(b []byte) int {
	for i, c := range b {
		if c == '\n' {
			return i
		}
	}
	return -1
}

// A journal whose header cannot be read is kept for an operator, never
// removed with the usage in its records.
func TestUnreadableJournalIsSetAsideNotRemoved(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	a := newTestLedger(t, dir, "i-a")
	admitN(t, a, 4, now)
	path := openJournal(t, a)
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteAt([]byte("X"), 0) // "portolan-usage-journal" → "Xortolan-…"
	require.NoError(t, err)
	require.NoError(t, f.Close())
	want, err := os.ReadFile(path)
	require.NoError(t, err)

	newTestLedger(t, dir, "i-b")
	kept, _ := filepath.Glob(filepath.Join(dir, usageDir, seqName(1)+journalSuffix+"*"))
	require.Len(t, kept, 1, "the damaged journal is still on disk")
	got, err := os.ReadFile(kept[0])
	require.NoError(t, err)
	assert.Equal(t, want, got, "as it was")
	again := newTestLedger(t, dir, "i-c")
	n, _ := spoolTotal(again)
	assert.Zero(t, n, "and not read again as a journal")
}

// A batch file found damaged beside the journal it was cut from (a crash
// between writing one and removing the other) is recovered from that
// journal: the journal is removed only once the batch file reads back.
func TestDamagedBatchFileFallsBackToItsJournal(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	a := newTestLedger(t, dir, "i-a")
	admitN(t, a, 5, now)
	path := openJournal(t, a)
	j, err := os.ReadFile(path)
	require.NoError(t, err)
	sb := cutOne(t, a)
	require.NoError(t, os.WriteFile(path, j, 0o600)) // the journal's removal never happened
	batch := filepath.Join(dir, usageDir, seqName(sb.seq)+batchSuffix)
	require.NoError(t, os.WriteFile(batch, []byte(`{"id":"i-a-1","ent`), 0o600))

	again := newTestLedger(t, dir, "i-b")
	n, ids := spoolTotal(again)
	assert.EqualValues(t, 5, n, "the journal's usage")
	assert.Equal(t, []string{sb.batch.ID}, ids, "under the batch's id: home counts it once")
}

// Batches set aside keep their numbers: numbering goes on past them, so a
// later batch set aside never replaces an operator's file, even when the
// seq file was lost.
func TestSetAsideBatchNumbersAreNotReused(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, usageDir), 0o700))
	kept := filepath.Join(dir, usageDir, seqName(3)+rejectedSuffix)
	require.NoError(t, os.WriteFile(kept, []byte(`{"id":"old-3"}`), 0o600))

	l := newTestLedger(t, dir, "i-a")
	for range 4 {
		admitN(t, l, 1, time.Now())
		sb := cutOne(t, l)
		assert.Greater(t, sb.seq, uint64(3), "numbered past the set-aside batch")
		l.mu.Lock()
		l.unspoolLocked(sb)
		l.mu.Unlock()
		l.reject(sb, assert.AnError)
	}
	b, err := os.ReadFile(kept)
	require.NoError(t, err)
	assert.Equal(t, `{"id":"old-3"}`, string(b), "the operator's file is untouched")
}

// Records after a long run of zeros (pages lost in the middle of a mapped
// journal) are kept, and finding them takes one pass, not a scan to the
// end after each lost record.
func TestJournalZeroHoleKeepsTheRecordsAfterIt(t *testing.T) {
	b := appendRecord(append([]byte(nil), testJournalHeader...), 5, 6, 29000000, 2)
	b = append(b, make([]byte, 100_000*recordSize)...)
	b = appendRecord(b, 5, 6, 29000000, 3)
	b = append(b, make([]byte, journalGrowBytes)...) // the reservation after the last record
	start := time.Now()
	_, _, usage, err := parseJournal(b)
	t.Logf("parsed %d bytes in %s", len(b), time.Since(start))
	assert.ErrorContains(t, err, "damaged records skipped")
	assert.Equal(t, map[usageKey]int64{{5, 6, 29000000}: 5}, usage)
}
