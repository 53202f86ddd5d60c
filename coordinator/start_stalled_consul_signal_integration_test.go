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

// A coordinator started while its Consul does not answer (an agent
// stalled, a leader election) waits for it, up to 30 s. A SIGTERM meanwhile
// (Kubernetes deleting the pod that never got ready, Ctrl-C) ends that
// wait: Kubernetes gives terminationGracePeriodSeconds (30 s by default,
// deploy/kubernetes sets no other) before SIGKILL, Docker 10 s, and the
// README says "SIGTERM or SIGINT stops it gracefully".
func TestSignalDuringAStalledConsulOpenStopsTheStart(t *testing.T) {
	consul := testenv.StartConsul(t)
	consul.Pause()

	out := &testenv.SyncBuffer{}
	cmd := exec.Command(testenv.Binary(t), "coordinator", "--listen", testenv.FreeAddr(t), "--data-dir", t.TempDir(),
		"--access-token", "test-admin-token", "--consul", consul.URL)
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-done })

	time.Sleep(time.Second) // waiting on Consul
	start := time.Now()
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-done:
	case <-time.After(40 * time.Second):
		t.Fatalf("still running 40 s after SIGTERM:\n%s", out.String())
	}
	took := time.Since(start)
	assert.Less(t, took, 3*time.Second, "SIGTERM during a start waiting on Consul\n%s", out.String())
	assert.Equal(t, 1, cmd.ProcessState.ExitCode(), "a start that did not happen fails\n%s", out.String())
	assert.NotContains(t, out.String(), "coordinator started")
	assert.Contains(t, out.String(), "portolan: stopped by a signal while starting")
}
