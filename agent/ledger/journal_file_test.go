package ledger

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var testJournalHeader = []byte("portolan-usage-journal 1 \"inst-1\" \"inst\"\n")

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
// ignored; anything else after a bad record is damage: the bad record is
// skipped, with an error, and the good ones after it are kept.
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
	assert.Equal(t, map[usageKey]int64{{5, 6, 29000000}: 2 + 3}, usage, "the record after the damage is kept")
}
