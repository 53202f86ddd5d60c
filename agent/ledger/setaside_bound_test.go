package ledger

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/testenv"
)

// A home that refuses every batch for good (an older home, a proxy in front
// of it answering 400) would have the agent set one aside an interval until
// the disk fills: past maxSetAside files a refused batch is dropped, said in
// the log, and the files already there are kept for the operator.
func TestSetAsideFilesAreBounded(t *testing.T) {
	dir := t.TempDir()
	spool := filepath.Join(dir, usageDir)
	require.NoError(t, os.MkdirAll(spool, 0o700))
	for i := 1; i <= maxSetAside; i++ {
		require.NoError(t, os.WriteFile(filepath.Join(spool, seqName(uint64(i))+rejectedSuffix), []byte("{}"), 0o600))
	}
	var logged testenv.SyncBuffer
	l, err := New(dir, "bound-test", func() int64 { return 1 }, zerolog.New(&logged))
	require.NoError(t, err)
	require.NoError(t, l.Admit(7, []composition.Hit{{MetricID: 3, Delta: 1}}, time.Now(), admitAny))
	l.cut()
	require.True(t, l.persistAll())
	sb := l.spool[0]
	l.reject(sb, errors.New("400 Bad Request"))

	_, err = os.Stat(filepath.Join(spool, seqName(sb.seq)+batchSuffix))
	assert.True(t, os.IsNotExist(err), "the refused batch is not left to be sent again")
	rejected, _ := filepath.Glob(filepath.Join(spool, "*"+rejectedSuffix))
	assert.Len(t, rejected, maxSetAside, "no file past the bound, none of those there removed")
	assert.Contains(t, logged.String(), "set-aside files at most")
}
