package coordinator_test

import (
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// A coordinator whose Consul stalls (SIGSTOP: connections accepted, never
// answered) still stops within Docker's 10 s after SIGTERM (docker stop's
// default; the agent's README section: "Leave the container runtime's stop
// grace (Docker's 10 s) room"), and within deploy/systemd's
// TimeoutStopSec=20s: releasing the webhook lock and destroying its
// session, one 10 s client timeout each, took 20 s. The lock passes on
// with its session's TTL anyway (README, webhooks: "a dead or cut-off one
// within about 35 s").
func TestStopWithConsulStalledEndsWithinDockersStopTimeout(t *testing.T) {
	consul := testenv.StartConsul(t)
	co := &signalledCoordinator{addr: testenv.FreeAddr(t), dir: t.TempDir(), out: &testenv.SyncBuffer{}, done: make(chan struct{})}
	co.cmd = exec.Command(testenv.Binary(t), "coordinator", "--listen", co.addr, "--data-dir", co.dir,
		"--access-token", "test-admin-token", "--consul", consul.URL)
	co.cmd.Stdout, co.cmd.Stderr = co.out, co.out
	require.NoError(t, co.cmd.Start())
	go func() { _ = co.cmd.Wait(); close(co.done) }()
	t.Cleanup(func() { _ = co.cmd.Process.Kill(); <-co.done })
	require.Eventually(t, func() bool { code, _ := probeAddr(co.addr, "/health/ready"); return code == 200 },
		15*time.Second, 20*time.Millisecond, "%s", co.out.String())
	time.Sleep(2 * time.Second) // the webhook lock is taken
	consul.Pause()

	start := time.Now()
	require.NoError(t, co.cmd.Process.Signal(syscall.SIGTERM))
	code, took := co.exitWithin(t, start, 40*time.Second)
	assert.Less(t, took, 8*time.Second, co.out.String())
	assert.Equal(t, 0, code, co.out.String())
}
