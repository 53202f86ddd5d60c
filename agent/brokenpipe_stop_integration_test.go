//go:build linux

package agent_test

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/registry"
)

// An agent whose standard output and error are a pipe nobody reads any more
// (`portolan agent … 2>&1 | head -1`, a log collector that died) still
// stops as it should: it drains, forwards SIGTERM to CMD, exits with CMD's
// code and deregisters. Its log lines are lost; the agent is not killed
// by SIGPIPE on its first one, mid-stop, with CMD left to Pdeathsig.
func TestStopWithABrokenLogPipeStillDrainsAndDeregisters(t *testing.T) {
	co := testenv.StartCoordinator(t)
	events := filepath.Join(t.TempDir(), "events")
	api := testenv.FreeAddr(t)
	a := startAgentOnPipe(t, "--api", api, "--home", co.URL, "--token", testenv.AgentToken, "--service", "newsapi",
		"--heartbeat", "200ms", "--ttl", "30s", "--drain", "2m", "--stop-timeout", "10s", "--", "sh", "-c", `
trap 'echo GOT_TERM >> "$0"; exit 7' TERM
echo READY >> "$0"
while :; do sleep 0.05; done`, events)
	read := func() string { b, _ := os.ReadFile(events); return string(b) }
	require.Eventually(t, func() bool { return strings.Contains(read(), "READY") }, 30*time.Second, 20*time.Millisecond)
	id := selfID(t, api)
	require.Eventually(t, func() bool { return statusOf(t, co, id) == registry.StatusPassing }, 30*time.Second, 20*time.Millisecond)

	require.NoError(t, a.logs.Close()) // the reader is gone: every log line is now EPIPE
	require.NoError(t, a.cmd.Process.Signal(syscall.SIGTERM))
	require.Eventually(t, func() bool { return statusOf(t, co, id) == registry.StatusDraining }, 30*time.Second, 20*time.Millisecond,
		"home is told the instance drains")
	require.NoError(t, a.cmd.Process.Signal(syscall.SIGTERM)) // ends the drain
	code := a.wait(t)
	assert.Equal(t, 7, code, "the agent exits with CMD's code")
	assert.Contains(t, read(), "GOT_TERM", "SIGTERM was forwarded to CMD")
	assert.Equal(t, "absent", statusOf(t, co, id), "deregistered on exit")
}

// CMD writes straight to the descriptors it inherits, as under tini: on a
// broken pipe it gets SIGPIPE at its default action (the agent handles
// SIGPIPE, it does not ignore it, which CMD would inherit), and the agent,
// not killed by its own log line about it, exits with 128+SIGPIPE.
func TestCommandWritingToABrokenPipeDiesOfSIGPIPE(t *testing.T) {
	a := startAgentOnPipe(t, "--api", "off", "--", "sh", "-c", `sleep 1; exec yes`)
	require.NoError(t, a.logs.Close())
	assert.Equal(t, 128+int(syscall.SIGPIPE), a.wait(t), "yes died of SIGPIPE; the agent lived to report it")
}

// pipedAgent is an agent process whose standard output and error are a
// pipe; closing logs, its read end, breaks it.
type pipedAgent struct {
	cmd    *exec.Cmd
	logs   *os.File
	waited chan struct{} // closed once cmd has been waited for
}

// startAgentOnPipe starts the agent with its standard output and error on
// a pipe. The agent is killed when the test ends.
func startAgentOnPipe(t *testing.T, args ...string) *pipedAgent {
	t.Helper()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	dir := t.TempDir()
	cmd := exec.Command(testenv.AgentBinary(t), append([]string{"--log-format", "console", "agent",
		"--placement-file", filepath.Join(dir, "placement.json"), "--cache-dir", filepath.Join(dir, "cache")}, args...)...)
	cmd.Stdout, cmd.Stderr = w, w // *os.File: the agent's fds 1 and 2 are the pipe itself
	require.NoError(t, cmd.Start())
	require.NoError(t, w.Close())
	a := &pipedAgent{cmd: cmd, logs: r, waited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(a.waited) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-a.waited; _ = r.Close() })
	return a
}

// wait waits for the agent and returns its exit code, failing the test
// when a signal killed it.
func (a *pipedAgent) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-a.waited:
	case <-time.After(60 * time.Second):
		t.Fatal("the agent did not exit")
	}
	ws := a.cmd.ProcessState.Sys().(syscall.WaitStatus)
	require.False(t, ws.Signaled(), "the agent was killed by %v", ws.Signal())
	return ws.ExitStatus()
}

// selfID waits for the agent's local API on api and returns its instance id.
func selfID(t *testing.T, api string) string {
	t.Helper()
	var id string
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + api + "/v1/agent/self")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var self struct{ ID string }
		if json.NewDecoder(resp.Body).Decode(&self) != nil {
			return false
		}
		id = self.ID
		return id != ""
	}, 30*time.Second, 20*time.Millisecond, "the agent's local API answers")
	return id
}

// The error the command ends with is printed after the agent ran; on a
// standard error nobody reads, the exit code is still the error's (1), not
// a death by SIGPIPE.
func TestAgentErrorOnABrokenStderrKeepsItsExitCode(t *testing.T) {
	r, w, err := os.Pipe()
	require.NoError(t, err)
	require.NoError(t, r.Close()) // no reader from the start
	dir := t.TempDir()
	cmd := exec.Command(testenv.AgentBinary(t), "agent", "--api", "off", "--label", "=bad",
		"--placement-file", filepath.Join(dir, "placement.json"), "--cache-dir", filepath.Join(dir, "cache"), "--", "true")
	cmd.Stdout, cmd.Stderr = w, w
	err = cmd.Run()
	require.NoError(t, w.Close())
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "the bad label is an error")
	ws := exit.Sys().(syscall.WaitStatus)
	require.False(t, ws.Signaled(), "the agent was killed by %v", ws.Signal())
	assert.Equal(t, 1, ws.ExitStatus())
}
