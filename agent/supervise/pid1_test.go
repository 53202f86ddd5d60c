//go:build linux

package supervise_test

import (
	"os"
	"os/exec"
	"testing"
)

// TestPID1 runs every supervisor scenario with the agent as PID 1 of a new
// PID namespace (`unshare --pid --fork --mount-proc`), as in a container:
// orphans are re-parented to it by the kernel, none is left in state Z in
// the namespace, signals from outside reach it and are forwarded, exit codes
// and 128+N propagate, and the stop timeout escalates to SIGKILL.
//
// It needs unshare (util-linux) and the right to create namespaces (root).
// Without them it skips, except on CI (CI=true), where it fails.
func TestPID1(t *testing.T) {
	requirePIDNamespace(t)
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			sc.run(t, agentOpts{pid1: true})
		})
	}
}

func requirePIDNamespace(t *testing.T) {
	t.Helper()
	skip := t.Skipf
	if os.Getenv("CI") == "true" {
		skip = t.Fatalf // CI runs as root on Linux: the PID 1 tests must run
	}
	path, err := exec.LookPath("unshare")
	if err != nil {
		skip("PID 1 tests need unshare (util-linux): %v", err)
		return
	}
	if out, err := exec.Command(path, "--pid", "--fork", "--mount-proc", "--kill-child", "true").CombinedOutput(); err != nil {
		skip("PID 1 tests cannot create a PID namespace (they need root): unshare: %v: %s", err, out)
	}
}
