package registry_test

import (
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/registry"
)

func TestCoordinatorReapsWithShortTimings(t *testing.T) {
	co := testenv.StartCoordinator(t, "--heartbeat", "200ms", "--ttl", "1s", "--deregister-critical-after", "1s")
	reply := register(t, co, "silent", registration("news"))
	assert.Equal(t, registry.Duration(time.Second), reply.TTL)
	assert.Equal(t, registry.Duration(200*time.Millisecond), reply.HeartbeatInterval)
	assert.Equal(t, registry.Duration(time.Second), reply.DeregisterCriticalAfter)
	start := time.Now()
	status := func() string {
		m, _ := getMap(t, co, "")
		in, ok := findInstance(m, "silent")
		if !ok {
			return "absent"
		}
		return in.Status
	}
	require.Eventually(t, func() bool { return status() == registry.StatusCritical }, 3*time.Second, 20*time.Millisecond)
	assert.Less(t, time.Since(start), 1500*time.Millisecond)
	m, _ := getMap(t, co, "")
	in, _ := findInstance(m, "silent")
	assert.Equal(t, registry.OutputTTLExpired, in.Output)
	require.Eventually(t, func() bool { return status() == "absent" }, 3*time.Second, 20*time.Millisecond)
	assert.Less(t, time.Since(start), 2500*time.Millisecond)
}

func TestCoordinatorRefusesDeregisterCriticalAfterBelowOneSecond(t *testing.T) {
	cmd := exec.Command(testenv.Binary(t), "coordinator", "--listen", testenv.FreeAddr(t), "--data-dir", t.TempDir(),
		"--access-token", "x", "--agent-token", "y", "--deregister-critical-after", "500ms")
	out, err := cmd.CombinedOutput()
	require.Error(t, err, string(out))
	assert.Contains(t, string(out), "deregister-critical-after must be at least 1s")
}
