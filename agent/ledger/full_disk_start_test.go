//go:build linux

package ledger

import (
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A full disk at start (often why the agent restarted) does not keep the
// agent, and the app it runs, down: the journal a previous run left keeps
// its usage until its batch file can be written, then counts once.
func TestFullDiskAtStartKeepsTheJournalAndStarts(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	a := newTestLedger(t, dir, "i-a")
	admitN(t, a, 3, now)
	path := openJournal(t, a)

	var was syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_FSIZE, &was))
	full := was
	full.Cur = 0 // every write to a file fails, as on a full disk
	require.NoError(t, syscall.Setrlimit(syscall.RLIMIT_FSIZE, &full))
	b, err := New(dir, "i-b", func() int64 { return 3 }, zerolog.Nop())
	require.NoError(t, syscall.Setrlimit(syscall.RLIMIT_FSIZE, &was))
	require.NoError(t, err, "the agent starts")
	assert.FileExists(t, path, "the journal keeps its usage")
	n, ids := spoolTotal(b)
	assert.EqualValues(t, 3, n, "pending, to be sent")
	assert.Equal(t, []string{"i-a-1"}, ids)

	require.True(t, b.persistAll(), "room again: the batch file is written")
	assert.NoFileExists(t, path, "and the journal it supersedes removed")
	require.NoError(t, b.Close())
	c := newTestLedger(t, dir, "i-c")
	n, _ = spoolTotal(c)
	assert.EqualValues(t, 3, n, "once")
}
