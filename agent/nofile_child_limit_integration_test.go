//go:build linux

package agent_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/portolan/portolan/internal/testenv"
)

// The agent runs with its soft RLIMIT_NOFILE raised to the hard limit, so a
// flood of clients meets its own connection bounds before EMFILE, while the
// command it supervises gets the soft limit the container was started with,
// as any other entrypoint would give it. Oracle: Go's os package raises the
// soft limit at init (os/rlimit.go, Go 1.19: "Some systems set an
// artificially low soft limit on open file count, for compatibility with
// code that uses select and its hard-coded maximum file descriptor") and
// syscall restores the original for the processes it starts
// (syscall/rlimit.go: origRlimitNofile, "the original soft RLIMIT_NOFILE"), unless the program sets
// the limit itself.
func TestAgentRaisesItsOpenFileLimitButItsCommandKeepsTheOriginal(t *testing.T) {
	dir := t.TempDir()
	wrapper := filepath.Join(dir, "agent-ulimit")
	require.NoError(t, os.WriteFile(wrapper, []byte("#!/bin/sh\nulimit -Sn 256\nulimit -Hn 4096\nexec "+testenv.AgentBinary(t)+` "$@"`+"\n"), 0o700))
	out := filepath.Join(dir, "child-limit")
	a := testenv.StartAgentOf(t, wrapper, "", "--service", "nofile", "--",
		"sh", "-c", `ulimit -Sn > "$0.tmp" && mv "$0.tmp" "$0" && exec sleep 300`, out)

	require.Eventually(t, func() bool { _, err := os.Stat(out); return err == nil }, 20*time.Second, 20*time.Millisecond,
		"the command wrote its limit")
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	require.Equal(t, "256", strings.TrimSpace(string(b)), "the command keeps the original soft limit")

	var lim unix.Rlimit
	require.NoError(t, unix.Prlimit(a.PID(), unix.RLIMIT_NOFILE, nil, &lim))
	// Go raises it to one below the hard limit, to tell a later prlimit(1)
	// of the agent apart (syscall/rlimit.go: "We set Cur to Max - 1").
	require.GreaterOrEqual(t, lim.Cur, uint64(4095), "the agent raised its soft limit to the hard one")
}
