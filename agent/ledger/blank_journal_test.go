package ledger

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A journal a crash or a power loss left before its header was written
// (created empty, or its blocks reserved and never written: zeros) holds no
// usage: it is removed at start, as ever, not set aside as damaged for an
// operator, where each such crash would count towards maxSetAside.
func TestBlankJournalIsRemovedNotSetAside(t *testing.T) {
	dir := t.TempDir()
	spool := filepath.Join(dir, usageDir)
	require.NoError(t, os.MkdirAll(spool, 0o700))
	empty := filepath.Join(spool, seqName(1)+journalSuffix)
	zeros := filepath.Join(spool, seqName(2)+journalSuffix)
	require.NoError(t, os.WriteFile(empty, nil, 0o600))
	require.NoError(t, os.WriteFile(zeros, make([]byte, 4096), 0o600))

	l := newTestLedger(t, dir, "i-a")
	n, _ := spoolTotal(l)
	assert.Zero(t, n)
	assert.NoFileExists(t, empty)
	assert.NoFileExists(t, zeros)
	set, _ := filepath.Glob(filepath.Join(spool, "*"+damagedSuffix))
	assert.Empty(t, set, "nothing set aside")
	assert.Zero(t, l.setAsideCount())
}
