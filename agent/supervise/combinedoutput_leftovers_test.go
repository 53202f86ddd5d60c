//go:build linux

package supervise_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/agent/supervise"
)

// A command run to completion (a health check, --check-exec) that leaves
// a process behind in its group (`sleep 30 &`) does not leave it running:
// a check every few seconds would pile them up until the container runs
// out of process ids. Consul kills a check's process tree too.
func TestCombinedOutputLeavesNoProcessOfItsGroupBehind(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	code, out, err := supervise.CombinedOutput(context.Background(),
		[]string{"sh", "-c", "sleep 30 & echo $! > " + pidFile + "; echo ok"}, nil)
	require.NoError(t, err)
	assert.Equal(t, 0, code)
	assert.Equal(t, "ok\n", string(out))
	b, err := os.ReadFile(pidFile)
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	require.NoError(t, err)
	assert.Eventually(t, func() bool { return gone(pid) }, 2*time.Second, 20*time.Millisecond, "the check's sleep %d still runs", pid)
}

// gone reports whether pid has exited: no such process, or a zombie.
func gone(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] == 'Z' || s[i+2] == 'X'
}
