//go:build upgrade

// Tests across versions: an older build of portolan (not built here, as
// CI has none) on the same data dir as the current one. Run them with
//
//	PORTOLAN_OLD_BIN=/path/to/an/older/portolan go test -tags upgrade ./coordinator/ -run Upgrade
//
// besides PORTOLAN_BIN (the current build; testenv builds it when unset).

package coordinator_test

import (
	"net/http"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/portolan/portolan/internal/testenv"
)

// oldBinary is the older full build of portolan, PORTOLAN_OLD_BIN.
func oldBinary(t *testing.T) string {
	return testenv.OldBuild(t, "PORTOLAN_OLD_BIN", "an older full build of portolan (e.g. one made from a release before this one)")
}

// oldHome is a coordinator of the older build, run on co's data dir and
// address with co's tokens, as an operator rolling back (or not yet
// rolled forward) runs it.
type oldHome struct {
	cmd    *exec.Cmd
	waited chan struct{}
	Output *testenv.SyncBuffer
}

// startOldHome runs bin as co's coordinator (co stopped) and waits until
// it answers; it is stopped when the test ends, or by stop.
func startOldHome(t *testing.T, bin string, co *testenv.Coordinator) *oldHome {
	t.Helper()
	return startOldHomeOn(t, bin, co.Addr, co.DataDir, co.Token, testenv.AgentToken)
}

// startOldHomeOn runs bin as a coordinator on addr and dir with the
// tokens given.
func startOldHomeOn(t *testing.T, bin, addr, dir, accessToken, agentToken string) *oldHome {
	t.Helper()
	h := &oldHome{Output: &testenv.SyncBuffer{}, waited: make(chan struct{})}
	h.cmd = exec.Command(bin, "--log-level", "warn", "coordinator", "--listen", addr, "--data-dir", dir,
		"--access-token", accessToken, "--agent-token", agentToken)
	h.cmd.Stdout, h.cmd.Stderr = h.Output, h.Output
	if err := h.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() { _ = h.cmd.Wait(); close(h.waited) }()
	t.Cleanup(h.stop)
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err == nil {
			resp.Body.Close()
			return h
		}
		select {
		case <-h.waited:
			t.Fatalf("the older coordinator exited at start:\n%s", h.Output.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("the older coordinator did not answer within 15s:\n%s", h.Output.String())
	return nil
}

// stop sends SIGTERM and waits up to 10 s, then kills.
func (h *oldHome) stop() {
	select {
	case <-h.waited:
		return
	default:
	}
	_ = h.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-h.waited:
	case <-time.After(10 * time.Second):
		_ = h.cmd.Process.Kill()
		<-h.waited
	}
}
