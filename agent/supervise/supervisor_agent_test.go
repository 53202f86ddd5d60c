//go:build linux

package supervise_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// agentProc is a helper agent the test started.
type agentProc struct {
	cmd            *exec.Cmd
	pid            int // the helper's PID in the test's PID namespace; see agentPID
	events, report string
	stdin          string
	stdout, stderr string
	exited         chan struct{}
}

// agentOpts tunes how startAgent runs the helper.
type agentOpts struct {
	pid1  bool     // in a new PID namespace, as PID 1
	stdio *os.File // the helper's stdin and stdout (a terminal), instead of files
	// ignore names signals (as sh's trap does: "HUP INT") the helper starts
	// with ignored, as under nohup or as a background job of a script.
	ignore string
	// block is the signals the helper starts with blocked (its inherited
	// signal mask), as a parent that forks with signals blocked leaves it.
	block []syscall.Signal
}

// startAgent runs the helper agent with cfg.
func startAgent(t *testing.T, opts agentOpts, cfg helperConfig) *agentProc {
	t.Helper()
	dir := t.TempDir()
	a := &agentProc{
		events: filepath.Join(dir, "events"), report: filepath.Join(dir, "report.json"),
		stdin: filepath.Join(dir, "stdin"), stdout: filepath.Join(dir, "stdout"), stderr: filepath.Join(dir, "stderr"),
		exited: make(chan struct{}),
	}
	require.NoError(t, os.WriteFile(a.stdin, []byte("a line of input\n"), 0o644))
	cfg.Report, cfg.PID1 = a.report, opts.pid1
	raw, err := json.Marshal(cfg)
	require.NoError(t, err)
	argv := []string{os.Args[0], "-test.run=^TestHelperAgent$", "-test.timeout=2m"}
	if len(opts.block) > 0 {
		argv = blockedExec(argv, opts.block...)
	}
	if opts.ignore != "" {
		// sh ignores them, then execs the helper in its place (same PID).
		argv = append([]string{"sh", "-c", "trap '' " + opts.ignore + `; exec "$0" "$@"`}, argv...)
	}
	if opts.pid1 {
		// --kill-child: if unshare dies, so does the namespace.
		argv = append([]string{"unshare", "--pid", "--fork", "--mount-proc", "--kill-child"}, argv...)
	}
	a.cmd = exec.Command(argv[0], argv[1:]...)
	// GORACE atexit_sleep_ms=0: a race-enabled binary otherwise sleeps 1s
	// when it exits with 0.
	gorace := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
	a.cmd.Env = append(os.Environ(), helperEnv+"="+string(raw), "EVENTS="+a.events, "GORACE="+gorace)
	in, err := os.Open(a.stdin)
	require.NoError(t, err)
	out, err := os.Create(a.stdout)
	require.NoError(t, err)
	errf, err := os.Create(a.stderr)
	require.NoError(t, err)
	a.cmd.Stdin, a.cmd.Stdout, a.cmd.Stderr = in, out, errf
	if opts.stdio != nil {
		// The terminal becomes the helper's controlling terminal, with the
		// helper's process group in the foreground, as in `docker run -t`.
		a.cmd.Stdin, a.cmd.Stdout = opts.stdio, opts.stdio
		a.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	}
	require.NoError(t, a.cmd.Start())
	for _, f := range []*os.File{in, out, errf} {
		f.Close()
	}
	go func() {
		_ = a.cmd.Wait()
		close(a.exited)
	}()
	if !opts.pid1 {
		a.pid = a.cmd.Process.Pid
	}
	t.Cleanup(func() { a.kill(t) })
	return a
}

// agentPID returns the helper's PID in the test's PID namespace: with pid1,
// that of unshare's child, which the helper must not have ended yet.
func (a *agentProc) agentPID(t *testing.T) int {
	t.Helper()
	if a.pid != 0 {
		return a.pid
	}
	require.Eventually(t, func() bool {
		for _, p := range procs() {
			if p.ppid == a.cmd.Process.Pid {
				a.pid = p.pid
				return true
			}
		}
		return false
	}, 10*time.Second, 5*time.Millisecond, "unshare's child")
	return a.pid
}

// kill ends a helper the test left running, with CMD's process group.
func (a *agentProc) kill(t *testing.T) {
	select {
	case <-a.exited:
	default:
		// unshare --kill-child ends the namespace; in its own process
		// group CMD would outlive the helper but for Pdeathsig, which is
		// under test: kill its group too.
		for _, p := range procs() {
			if a.pid != 0 && p.ppid == a.pid && p.pgrp == p.pid {
				_ = syscall.Kill(-p.pid, syscall.SIGKILL)
			}
		}
		_ = a.cmd.Process.Kill()
		<-a.exited
	}
	if t.Failed() {
		b, _ := os.ReadFile(a.stderr)
		t.Logf("helper stderr:\n%s\nevents: %q", b, a.lines())
	}
}

func (a *agentProc) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	require.NoError(t, syscall.Kill(a.agentPID(t), sig), "signal the helper agent")
}

// lines returns the events so far.
func (a *agentProc) lines() []string {
	b, _ := os.ReadFile(a.events)
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// waitEvent waits until the events file has line.
func (a *agentProc) waitEvent(t *testing.T, line string) {
	t.Helper()
	require.Eventually(t, func() bool { return slices.Contains(a.lines(), line) }, 15*time.Second, 5*time.Millisecond,
		"event %q (events: %q)", line, a.lines())
}

// has reports whether the events file has line.
func (a *agentProc) has(line string) bool { return slices.Contains(a.lines(), line) }

// wait waits for the helper to exit, checks that it exited with the code it
// reports and had no data race, and returns its report.
func (a *agentProc) wait(t *testing.T) helperReport {
	t.Helper()
	select {
	case <-a.exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("the helper agent did not exit (events: %q)", a.lines())
	}
	stderr, _ := os.ReadFile(a.stderr)
	assert.NotContains(t, string(stderr), "DATA RACE", "the helper agent had a data race")
	b, err := os.ReadFile(a.report)
	require.NoError(t, err, "the helper wrote no report; stderr:\n%s", stderr)
	var rep helperReport
	require.NoError(t, json.Unmarshal(b, &rep))
	require.Empty(t, rep.Err, "helper error; stderr:\n%s", stderr)
	assert.Equal(t, rep.Code, a.cmd.ProcessState.ExitCode(), "the agent exits with CMD's code")
	return rep
}

// sh runs script in sh with ev, idle and the events file at hand.
func sh(script string) []string {
	const prelude = `ev() { echo "$*" >> "$EVENTS"; }
idle() { i=0; while [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done; }
`
	return []string{"sh", "-c", prelude + script}
}
