package agent

import (
	"net/http"
	"net/http/httptest"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// A docker stop while the agent is still starting (here: fetching a
// --mgmt-spec from a server that does not answer, which may take
// --mgmt-timeout) stops it at once, with the code a shell gives a death by
// that signal (143 for SIGTERM, as when CMD runs), and CMD never starts.
// Before, the signal met Go's default action: as PID 1 the agent exited 2.
func TestStopWhileStartingEndsTheFetchAndExitsAsKilled(t *testing.T) {
	asked := make(chan struct{}, 1)
	release := make(chan struct{})
	spec := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case asked <- struct{}{}:
		default:
		}
		select { // answer nothing until the test ends
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(spec.Close)
	t.Cleanup(func() { close(release) })

	marker := t.TempDir() + "/ran"
	a := testenv.StartAgentAt(t, "", "--service", "newsapi", "--mgmt-listen", testenv.FreeAddr(t), "--mgmt-upstream", "http://"+testenv.FreeAddr(t), "--mgmt-token", "tok",
		"--mgmt-spec", spec.URL+"/spec.json", "--mgmt-timeout", "60s", "--", "sh", "-c", "touch "+marker)
	select {
	case <-asked:
	case <-time.After(30 * time.Second):
		t.Fatalf("the agent never asked for its spec:\n%s", a.Output.String())
	}

	a.Signal(syscall.SIGTERM)
	code, exited := a.Wait(10 * time.Second)
	require.True(t, exited, "the agent waited out its spec fetch after SIGTERM:\n%s", a.Output.String())
	assert.Equal(t, 143, code, "the agent exits as one killed by SIGTERM:\n%s", a.Output.String())
	assert.Contains(t, a.Output.String(), "terminated while starting")
	_, err := os.Stat(marker)
	assert.True(t, os.IsNotExist(err), "CMD started after the SIGTERM")
}
