//go:build linux

package agent_test

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// procProbe is CMD of TestCommandCannotReadTheAgentsEnvironOrMemory: it
// tries what an app running as the agent's user could do to its parent,
// the agent, and prints what it could; and whether a process of its user
// may read its own environment, as of any dumpable process. It exits at
// once, so the agent exits with it.
const procProbe = `p=$PPID
if env=$(tr '\0' '\n' 2>/dev/null </proc/$p/environ); then
	case "$env" in
	*PORTOLAN_AGENT_TOKEN=*) echo "probe pid=$p environ=read secret=seen" ;;
	*) echo "probe pid=$p environ=read secret=absent" ;;
	esac
else
	echo "probe pid=$p environ=refused"
fi
if (exec 3</proc/$p/mem) 2>/dev/null; then echo "probe pid=$p mem=opened"; else echo "probe pid=$p mem=refused"; fi
if tr '\0' '\n' 2>/dev/null </proc/$$/environ >/dev/null; then echo "probe self=read"; else echo "probe self=refused"; fi`

// unprivilegedID is nobody's uid and gid: the agent and CMD run as it when
// the test runs as root, whose CAP_SYS_PTRACE would read any process.
const unprivilegedID = 65534

// TestCommandCannotReadTheAgentsEnvironOrMemory: CMD runs as the agent's
// user, which (without the agent's care) may read /proc/<agent>/environ,
// where the join token given as PORTOLAN_AGENT_TOKEN sits whatever the
// agent withholds from CMD's own environment, and open
// /proc/<agent>/mem. The agent makes itself non-dumpable: CMD is refused
// both, and still runs, dumpable itself (execve resets it).
func TestCommandCannotReadTheAgentsEnvironOrMemory(t *testing.T) {
	co := testenv.StartCoordinator(t)
	bin := testenv.AgentBinary(t)

	// Not StartAgentOf: it runs the agent as the test's user, with its
	// files in directories only that user may enter, and this test needs
	// an unprivileged user (root's CAP_SYS_PTRACE reads any process).
	uid := os.Geteuid()
	root := uid == 0
	if root {
		uid = unprivilegedID
	}
	dir, err := os.MkdirTemp("", "portolan-nondumpable-")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o755))
	data := filepath.Join(dir, "data")
	require.NoError(t, os.Mkdir(data, 0o700))
	if root {
		// AgentBinary's directory is root's alone: the binary is copied
		// where uid 65534 can read and run it. (Were it unreadable to its
		// user, execve would make the agent non-dumpable by itself, and
		// the test would prove nothing.)
		bin = copyExecutable(t, bin, filepath.Join(dir, "portolan-agent"))
		require.NoError(t, os.Chown(data, unprivilegedID, unprivilegedID))
	}

	out := &testenv.SyncBuffer{}
	cmd := exec.Command(bin, "--log-format", "console", "agent", "--api", testenv.FreeAddr(t),
		"--placement-file", filepath.Join(data, "placement.json"), "--cache-dir", filepath.Join(data, "cache"),
		"--home", co.URL, "--service", "app", "--", "sh", "-c", procProbe)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PORTOLAN_AGENT_TOKEN="+testenv.AgentToken) // not --token: argv is world-readable anyway
	cmd.Stdout, cmd.Stderr = out, out
	if root {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: unprivilegedID, Gid: unprivilegedID, Groups: []uint32{}}}
	}
	if err := cmd.Start(); err != nil {
		if root && errors.Is(err, syscall.EPERM) {
			testenv.Missing(t, "cannot start a process as uid 65534 here: "+err.Error())
		}
		t.Fatalf("start agent: %v", err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	select {
	case <-waited:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-waited
		t.Fatalf("the agent did not exit with its command within 30s:\n%s", out.String())
	}

	logs := out.String()
	var probe []string
	for l := range strings.SplitSeq(logs, "\n") {
		if strings.HasPrefix(l, "probe ") {
			probe = append(probe, l)
		}
	}
	require.Len(t, probe, 3, "CMD reports what it could read of the agent\n%s", logs)
	t.Logf("CMD as uid %d: %s", uid, strings.Join(probe, "; "))
	assert.Contains(t, probe[0], "pid="+strconv.Itoa(cmd.Process.Pid)+" ", "CMD probed the agent, its parent")
	assert.Contains(t, probe[0], "environ=refused", "CMD, as the agent's user, read the agent's environment")
	assert.NotContains(t, probe[0], "secret=seen", "CMD read the join token in the agent's environment")
	assert.Contains(t, probe[1], "mem=refused", "CMD, as the agent's user, opened the agent's memory")
	assert.Contains(t, probe[2], "self=read", "CMD is not left non-dumpable: tools of its user can read its /proc")
	assert.Zero(t, cmd.ProcessState.ExitCode(), "the agent exits with CMD's code\n%s", logs)
	assert.NotContains(t, logs, "cannot make the agent non-dumpable", "the agent warned it could not protect itself\n%s", logs)
}

// copyExecutable copies the file src to dst, mode 0755.
func copyExecutable(t *testing.T, src, dst string) string {
	t.Helper()
	in, err := os.Open(src)
	require.NoError(t, err)
	defer in.Close()
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	require.NoError(t, err)
	_, err = io.Copy(f, in)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	return dst
}
