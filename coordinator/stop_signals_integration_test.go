package coordinator_test

import (
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/coordinator"
	"github.com/portolan/portolan/internal/testenv"
)

// signalledCoordinator is a coordinator process the test signals itself
// (testenv.Coordinator's Stop waits, and sends one SIGTERM only).
type signalledCoordinator struct {
	addr, dir string
	cmd       *exec.Cmd
	out       *testenv.SyncBuffer
	done      chan struct{}
}

// startSignalled starts a coordinator on dir and waits until it is ready.
func startSignalled(t *testing.T, dir string) *signalledCoordinator {
	t.Helper()
	c := &signalledCoordinator{addr: testenv.FreeAddr(t), dir: dir, out: &testenv.SyncBuffer{}, done: make(chan struct{})}
	c.cmd = exec.Command(testenv.Binary(t), "coordinator", "--listen", c.addr, "--data-dir", dir,
		"--access-token", "test-admin-token", "--agent-token", testenv.AgentToken)
	c.cmd.Stdout, c.cmd.Stderr = c.out, c.out
	require.NoError(t, c.cmd.Start())
	go func() { _ = c.cmd.Wait(); close(c.done) }()
	t.Cleanup(func() { _ = c.cmd.Process.Kill(); <-c.done })
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + c.addr + coordinator.PathHealthReady); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return c
			}
		}
		select {
		case <-c.done:
			t.Fatalf("coordinator exited at start:\n%s", c.out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("coordinator not ready within 15s:\n%s", c.out.String())
	return nil
}

// slowUpload opens a write to the Account Management API whose body
// trickles in, a byte every 200 ms (a client on a slow link: well within
// --body-timeout), until the test ends.
func slowUpload(t *testing.T, addr string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	_, err = fmt.Fprintf(conn, "POST /admin/api/services.json HTTP/1.1\r\nHost: home\r\nAuthorization: Bearer test-admin-token\r\n"+
		"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nname=slow")
	require.NoError(t, err)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
			if _, err := conn.Write([]byte("x")); err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { close(stop); conn.Close(); <-done })
	time.Sleep(300 * time.Millisecond) // the request is in the handler, reading its body
}

// exitWithin waits up to limit for the process to exit and returns its
// exit code and how long it took.
func (c *signalledCoordinator) exitWithin(t *testing.T, since time.Time, limit time.Duration) (int, time.Duration) {
	t.Helper()
	select {
	case <-c.done:
		return c.cmd.ProcessState.ExitCode(), time.Since(since)
	case <-time.After(limit - time.Since(since)):
		t.Fatalf("still running %v after the signal:\n%s", limit, c.out.String())
		return 0, 0
	}
}

// reopens proves the stores were closed, not left locked or damaged: a
// coordinator on the same data dir starts and is ready.
func reopens(t *testing.T, dir string) {
	t.Helper()
	next := startSignalled(t, dir)
	require.NoError(t, next.cmd.Process.Signal(syscall.SIGTERM))
	code, _ := next.exitWithin(t, time.Now(), 5*time.Second)
	assert.Equal(t, 0, code, next.out.String())
}

// Docker stops a container with SIGTERM and, 10 s later, SIGKILL (docker
// stop's --time default; Compose's stop_grace_period default, and
// deploy/compose gives the coordinator no other); the agent's own README
// section says to leave the runtime's stop grace (Docker's 10 s) room. A
// client still sending its body must not keep home past that: it would be
// killed before it closes its stores, and exit 137 instead of 0.
func TestStopWithASlowClientEndsWithinDockersStopTimeout(t *testing.T) {
	co := startSignalled(t, t.TempDir())
	slowUpload(t, co.addr)

	start := time.Now()
	require.NoError(t, co.cmd.Process.Signal(syscall.SIGTERM))
	code, took := co.exitWithin(t, start, 20*time.Second)
	assert.Less(t, took, 8*time.Second, "Docker's SIGKILL comes 10 s after SIGTERM: leave room for closing the stores\n%s", co.out.String())
	assert.Equal(t, 0, code, co.out.String())
	assert.Contains(t, co.out.String(), "coordinator stopped")
	reopens(t, co.dir)
}

// A second SIGTERM or SIGINT (Ctrl-C again at a terminal) while home
// waits for its clients stops the wait: Consul's agent does the same
// (hashicorp/consul command/agent/agent.go, run: "Caught second signal,
// Exiting", exit 1, instead of the rest of its graceful leave). The
// stores are still closed.
func TestSecondSignalCutsTheDrainShort(t *testing.T) {
	for _, second := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(second.String(), func(t *testing.T) {
			co := startSignalled(t, t.TempDir())
			slowUpload(t, co.addr)

			require.NoError(t, co.cmd.Process.Signal(syscall.SIGTERM))
			time.Sleep(500 * time.Millisecond)
			start := time.Now()
			require.NoError(t, co.cmd.Process.Signal(second))
			code, took := co.exitWithin(t, start, 20*time.Second)
			assert.Less(t, took, 2*time.Second, co.out.String())
			assert.Equal(t, 1, code, "stopped without its clients' answers, as Consul's agent exits 1\n%s", co.out.String())
			assert.True(t, strings.Contains(co.out.String(), "second signal"), co.out.String())
			assert.Contains(t, co.out.String(), "coordinator stopped")
			reopens(t, co.dir)
		})
	}
}
