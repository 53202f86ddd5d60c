package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition/boltstore"
	"github.com/portolan/portolan/internal/testenv"
)

// The README: --start-empty "is read from the command line only, never from
// the environment, where it would outlive the start it was meant for". A
// --config file outlives the start as the environment does (a ConfigMap, a
// file under /etc): home whose composition.db was lost must refuse to start
// whatever the file says, so that a start-empty: true left in it never serves
// an empty composition to every agent after a later loss.
func TestStartEmptyIsNotReadFromTheConfigFile(t *testing.T) {
	co := testenv.StartCoordinator(t)
	co.Create(t, "/admin/api/services.json", "name=Lost&system_name=lost")
	co.Stop()
	require.NoError(t, os.Remove(filepath.Join(co.DataDir, boltstore.FileName)))

	config := filepath.Join(t.TempDir(), "portolan.yaml")
	require.NoError(t, os.WriteFile(config, []byte("coordinator:\n  start-empty: true\n"), 0o600))

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, testenv.Binary(t), "--config", config, "--log-level", "warn",
		"coordinator", "--listen", co.Addr, "--data-dir", co.DataDir, "--access-token", co.Token).CombinedOutput()
	require.Error(t, err, "home started on a lost composition:\n%s", out)
	assert.Nil(t, ctx.Err(), "home started empty on a lost composition because the --config file said start-empty; it should refuse, as with the variable:\n%s", out)
	assert.Contains(t, string(out), "start-empty")
}
