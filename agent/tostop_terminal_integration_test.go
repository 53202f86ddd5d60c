//go:build linux

package agent_test

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/portolan/portolan/internal/testenv"
)

// Started from a terminal with `stty tostop` by a job-control shell (or as
// PID 2 under `docker run --init -t`), the agent hands the terminal to
// CMD's process group and so becomes a background job of it: as tini, it
// ignores SIGTTOU, or its first log line after CMD's start would stop it
// (the shell reports 128+SIGTTOU), leaving CMD unsupervised and the stop,
// the reaping and the exit code to nobody. CMD still gets SIGTTOU at its
// default action.
func TestAgentOnATostopTerminalIsNotStoppedByItsOwnLogs(t *testing.T) {
	agentBin := testenv.AgentBinary(t)
	dir := t.TempDir()
	master, slave := testenv.OpenPTY(t)
	go func() { _, _ = io.Copy(io.Discard, master) }() // what the agent and CMD write
	tio, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
	require.NoError(t, err)
	tio.Lflag |= unix.TOSTOP
	require.NoError(t, unix.IoctlSetTermios(int(slave.Fd()), unix.TCSETS, tio))

	result := filepath.Join(dir, "result")
	// sh -m runs the agent as a foreground job in a process group of its
	// own, as an interactive shell does; $? is 128+N for a job stopped by N.
	sh := exec.Command("sh", "-mc", `"$0" --log-format console agent --api off --cache-dir "" --placement-file "$1" -- \
	sh -c 'sed -n "s/^SigIgn:[[:space:]]*//p" /proc/self/status > "$0.ign"; sleep 1; exit 5' "$2"
echo "$?" > "$2"
kill -9 %1 2>/dev/null`, agentBin, filepath.Join(dir, "placement.json"), result)
	sh.Stdin, sh.Stdout, sh.Stderr = slave, slave, slave
	sh.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0} // a session on the terminal
	require.NoError(t, sh.Start())
	done := make(chan error, 1)
	go func() { done <- sh.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		_ = sh.Process.Kill()
		t.Fatal("the shell did not end")
	}
	b, err := os.ReadFile(result)
	require.NoError(t, err)
	require.Equal(t, "5", strings.TrimSpace(string(b)),
		"the agent exits with CMD's code (%d: stopped by SIGTTOU)", 128+int(syscall.SIGTTOU))
	ign, err := os.ReadFile(result + ".ign")
	require.NoError(t, err)
	assert.Zero(t, testenv.ParseSigMask(t, strings.TrimSpace(string(ign)))&testenv.SigBit(syscall.SIGTTOU),
		"CMD starts with SIGTTOU at its default action")
}
