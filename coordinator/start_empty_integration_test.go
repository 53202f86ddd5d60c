package coordinator_test

import (
	"context"
	"net/http"
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

// A home whose composition.db was lost refuses to start: serving an empty
// composition would drop every service from every agent, and one at the old
// revisions would be ignored by them. It names the way out; with
// --start-empty it starts empty above every revision it had published, so
// that agents take what is imported next.
func TestLostCompositionRefusedUnlessStartEmpty(t *testing.T) {
	co := testenv.StartCoordinator(t)
	co.Create(t, "/admin/api/services.json", "name=Lost&system_name=lost")
	before := co.Revision(t)
	co.Stop()
	require.NoError(t, os.Remove(filepath.Join(co.DataDir, boltstore.FileName)))

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, testenv.Binary(t), "--log-level", "warn", "coordinator", "--listen", co.Addr,
		"--data-dir", co.DataDir, "--access-token", co.Token).CombinedOutput()
	require.Error(t, err, "home started on a lost composition:\n%s", out)
	assert.Contains(t, string(out), "composition.db is empty, but this home's composition reached revision")
	assert.Contains(t, string(out), "--start-empty")

	co.Args = append(co.Args, "--start-empty")
	co.Start()
	assert.Greater(t, co.Revision(t), before, "above every revision agents may hold")
	got := send(t, co, http.MethodGet, "/admin/api/services.json", "", "")
	require.Equal(t, http.StatusOK, got.status)
	assert.NotContains(t, got.body, "lost")
}
