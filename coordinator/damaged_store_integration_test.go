package coordinator_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition/boltstore"
	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/usage"
)

// A coordinator whose composition.db or usage.db is damaged refuses to
// start, and says which file and what to do, rather than dying in a stack
// trace of bbolt's (a page that is not what its parent says panics; the
// pages of a file cut short fault; usage.db's freelist, rebuilt at open in
// a goroutine of bbolt's, would panic where nothing can recover). Nothing
// was changed in the file: restored, it starts with everything it held.
func TestDamagedStoreFilesRefuseToStartAndSaySo(t *testing.T) {
	co := testenv.StartCoordinator(t)
	sid := co.Create(t, "/admin/api/services.json", "name=Kept&system_name=kept")
	co.Stop()
	for _, file := range []string{boltstore.FileName, usage.File} {
		t.Run(file, func(t *testing.T) { damageAndRestore(t, co, filepath.Join(co.DataDir, file)) })
	}
	co.Start()
	got := send(t, co, http.MethodGet, "/admin/api/services/"+sid+".json", "", "")
	assert.Equal(t, http.StatusOK, got.status, "the restored file holds the service: %s", got.body)
}

// damageAndRestore damages the file at path in two ways, checks that the
// stopped coordinator co refuses to start on either, and puts it back.
func damageAndRestore(t *testing.T, co *testenv.Coordinator, path string) {
	t.Helper()
	whole, err := os.ReadFile(path)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, os.WriteFile(path, whole, 0o600)) })
	page := os.Getpagesize()
	require.Greater(t, len(whole), 3*page, "the file has pages past its two meta pages")

	damages := map[string][]byte{
		// Its meta pages name pages the file no longer has.
		"cut short": whole[:3*page],
		// Every page but the two meta pages overwritten.
		"pages overwritten": append(bytes.Clone(whole[:2*page]), bytes.Repeat([]byte{0xa5}, len(whole)-2*page)...),
	}
	for name, damaged := range damages {
		t.Run(name, func(t *testing.T) {
			require.NoError(t, os.WriteFile(path, damaged, 0o600))
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, testenv.Binary(t), "--log-level", "warn", "coordinator", "--listen", co.Addr,
				"--data-dir", co.DataDir, "--access-token", co.Token)
			b, err := cmd.CombinedOutput()
			out := string(b)
			head := out[:min(len(out), 400)] // a stack trace's first lines say enough
			require.Error(t, err, "the coordinator started on a damaged store:\n%s", head)
			require.NoError(t, ctx.Err(), "the coordinator neither started nor exited:\n%s", head)
			assert.Equal(t, 1, cmd.ProcessState.ExitCode(), "an error, not a crash:\n%s", head)
			assert.True(t, strings.Contains(out, path+": the file is damaged"), "names the file:\n%s", head)
			assert.True(t, strings.Contains(out, "restore the file from a backup"), "says what to do:\n%s", head)
			assert.False(t, strings.Contains(out, "goroutine "), "no stack trace:\n%s", head)
		})
	}
}
