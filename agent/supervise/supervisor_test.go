//go:build linux

package supervise_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/portolan/portolan/agent/supervise"
)

// The supervisor reaps every child of its process (wait4(-1)), installs
// signal handlers and may become a subreaper, so these tests never run it in
// the test process itself: each scenario re-executes this test binary as the
// "agent" (TestHelperAgent, guarded by helperEnv), sends signals to that
// process, and observes CMD through the events file, which CMD's scripts and
// the helper's OnStopping append lines to ($EVENTS). The helper reports what
// it saw in a JSON file and exits with CMD's exit code, like the agent.

const helperEnv = "PORTOLAN_AGENT_TEST_HELPER"

// helperConfig tells the helper agent what to do.
type helperConfig struct {
	Scenario    string // "" runs a Supervisor; "wait" exercises Start, Wait and Stop; "spawn" Spawn and CombinedOutput
	Command     []string
	SignalGroup bool
	Drain       time.Duration
	StopTimeout time.Duration
	PID1        bool   // refuse to run unless PID 1
	Report      string // where to write the helperReport
}

// helperReport is what the helper agent saw.
type helperReport struct {
	PID     int // the helper's own PID
	CMDPID  int
	Code    int // what Run (or Wait) returned, and the helper's exit code
	Err     string
	WaitErr string // "wait": Wait's error when its context expired first
	// "spawn"
	SpawnCode, OutputCode, TimeoutCode int
	Output, TimeoutErr                 string
	// Processes in state Z once Run has returned: the helper's children,
	// or, as PID 1, any in the PID namespace.
	Zombies       []string
	OrphansReaped uint64
}

func TestHelperAgent(t *testing.T) {
	raw := os.Getenv(helperEnv)
	if raw == "" {
		t.Skip("the agent process of the supervisor tests; they run it themselves")
	}
	var cfg helperConfig
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(99)
	}
	rep := helperReport{PID: os.Getpid()}
	if cfg.PID1 && rep.PID != 1 {
		rep.Err = fmt.Sprintf("helper is PID %d, not 1", rep.PID)
		rep.Code = 99
	} else {
		runHelper(cfg, &rep)
	}
	parent := os.Getpid()
	if cfg.PID1 {
		parent = 0
	}
	rep.Zombies = zombies(parent)
	rep.OrphansReaped = supervise.OrphansReaped()
	b, _ := json.Marshal(rep)
	if err := os.WriteFile(cfg.Report, b, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(98)
	}
	os.Exit(rep.Code)
}

func runHelper(cfg helperConfig, rep *helperReport) {
	events := os.Getenv("EVENTS")
	s, err := supervise.New(supervise.Config{
		Command:     cfg.Command,
		SignalGroup: cfg.SignalGroup,
		Drain:       cfg.Drain,
		StopTimeout: cfg.StopTimeout,
		OnStopping:  func() { appendLine(events, "STOPPING") },
		Logger:      zerolog.New(os.Stderr).Level(zerolog.DebugLevel).With().Timestamp().Logger(),
	})
	if err != nil {
		rep.Err, rep.Code = err.Error(), 97
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	switch cfg.Scenario {
	case "":
		rep.Code, err = s.Run(ctx)
	case "wait":
		rep.Code, err = waitScenario(ctx, s, rep)
	case "spawn":
		rep.Code, err = spawnScenario(ctx, s, rep)
	}
	rep.CMDPID = s.PID()
	if err != nil {
		rep.Err = err.Error()
	}
}

// waitScenario: Wait honours its context and leaves CMD running; Stop stops it.
func waitScenario(ctx context.Context, s *supervise.Supervisor, rep *helperReport) (int, error) {
	if err := s.Start(); err != nil {
		return 96, err
	}
	short, cancel := context.WithTimeout(ctx, 150*time.Millisecond)
	defer cancel()
	if _, err := s.Wait(short); err != nil {
		rep.WaitErr = err.Error()
	}
	s.Stop()
	return s.Wait(ctx)
}

// spawnScenario: other children, started through the reaper while a
// Supervisor runs, get their own exit codes back.
func spawnScenario(ctx context.Context, s *supervise.Supervisor, rep *helperReport) (int, error) {
	type result struct {
		code int
		err  error
	}
	ran := make(chan result, 1)
	go func() {
		code, err := s.Run(ctx)
		ran <- result{code, err}
	}()
	for s.PID() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	p, exited, err := supervise.Spawn([]string{"sh", "-c", "exit 5"}, &os.ProcAttr{})
	if err != nil {
		return 96, err
	}
	rep.SpawnCode = <-exited
	p.Release()
	code, out, err := supervise.CombinedOutput(ctx, []string{"sh", "-c", "echo out; echo err >&2; exit 1"})
	rep.OutputCode, rep.Output = code, string(out)
	if err != nil {
		return 96, err
	}
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	rep.TimeoutCode, _, err = supervise.CombinedOutput(short, []string{"sleep", "10"})
	if err != nil {
		rep.TimeoutErr = err.Error()
	}
	s.Stop()
	r := <-ran
	return r.code, r.err
}

func appendLine(path, line string) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	_, _ = f.WriteString(line + "\n")
}

// procInfo is a process as /proc/PID/stat shows it.
type procInfo struct {
	pid, ppid, pgrp, tpgid int
	comm, state            string
}

func parseStat(s string) (procInfo, bool) {
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return procInfo{}, false
	}
	f := strings.Fields(s[end+1:]) // state ppid pgrp session tty_nr tpgid ...
	if len(f) < 5 {
		return procInfo{}, false
	}
	p := procInfo{comm: s[open+1 : end], state: f[0]}
	p.pid, _ = strconv.Atoi(strings.TrimSpace(s[:open]))
	p.ppid, _ = strconv.Atoi(f[1])
	p.pgrp, _ = strconv.Atoi(f[2])
	p.tpgid, _ = strconv.Atoi(f[5])
	return p, true
}

// procs lists the processes of /proc.
func procs() []procInfo {
	paths, _ := filepath.Glob("/proc/[0-9]*/stat")
	var out []procInfo
	for _, path := range paths {
		b, err := os.ReadFile(path)
		if err != nil {
			continue // gone meanwhile
		}
		if p, ok := parseStat(string(b)); ok {
			out = append(out, p)
		}
	}
	return out
}

// zombies lists the processes in state Z whose parent is ppid (any, for 0).
func zombies(ppid int) []string {
	var out []string
	for _, p := range procs() {
		if p.state == "Z" && (ppid == 0 || p.ppid == ppid) {
			out = append(out, fmt.Sprintf("%d (%s) parent %d", p.pid, p.comm, p.ppid))
		}
	}
	return out
}

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
	args := []string{"-test.run=^TestHelperAgent$", "-test.timeout=2m"}
	if opts.pid1 {
		// --kill-child: if unshare dies, so does the namespace.
		a.cmd = exec.Command("unshare", append([]string{"--pid", "--fork", "--mount-proc", "--kill-child", os.Args[0]}, args...)...)
	} else {
		a.cmd = exec.Command(os.Args[0], args...)
	}
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

// scenarios run both with the helper as an ordinary child process of the
// test (TestSupervisor) and as PID 1 of a new PID namespace (TestPID1).
var scenarios = []struct {
	name string
	run  func(t *testing.T, opts agentOpts)
}{
	{"ExitCodes", testExitCodes},
	{"Stdio", testStdio},
	{"ForwardedSignals", testForwardedSignals},
	{"StopTimeoutEscalatesToSIGKILL", testStopTimeout},
	{"Drain", testDrain},
	{"SignalGroup", testSignalGroup},
	{"ReapsOrphans", testReapsOrphans},
}

func TestSupervisor(t *testing.T) {
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			sc.run(t, agentOpts{})
		})
	}
}

// CMD's exit status, or 128+N for signal N, is what Run returns and what the
// agent exits with.
func testExitCodes(t *testing.T, opts agentOpts) {
	for _, tc := range []struct {
		script string
		want   int
	}{
		{"exit 0", 0},
		{"exit 7", 7},
		{"kill -TERM $$", 128 + 15},
		{"kill -KILL $$", 128 + 9},
	} {
		t.Run(tc.script, func(t *testing.T) {
			t.Parallel()
			a := startAgent(t, opts, helperConfig{Command: sh(tc.script)})
			rep := a.wait(t)
			assert.Equal(t, tc.want, rep.Code)
			assertPID1(t, opts, rep)
		})
	}
}

// CMD gets the agent's own stdin, stdout and stderr (the same open files,
// no pipes), and runs in a process group of its own.
func testStdio(t *testing.T, opts agentOpts) {
	a := startAgent(t, opts, helperConfig{Command: sh(`
IFS= read -r line; ev "IN $line"
echo "OUT from CMD"; echo "ERR from CMD" >&2
ev "FD0 $(readlink /proc/$$/fd/0)"
ev "FD1 $(readlink /proc/$$/fd/1)"
ev "FD2 $(readlink /proc/$$/fd/2)"
ev "STAT $(cat /proc/$$/stat)"`)})
	rep := a.wait(t)
	assert.Equal(t, 0, rep.Code)
	assertPID1(t, opts, rep)
	assert.True(t, a.has("IN a line of input"), "CMD read the agent's stdin: %q", a.lines())
	out, _ := os.ReadFile(a.stdout)
	assert.Contains(t, string(out), "OUT from CMD")
	errb, _ := os.ReadFile(a.stderr)
	assert.Contains(t, string(errb), "ERR from CMD")
	for fd, path := range []string{a.stdin, a.stdout, a.stderr} {
		assert.True(t, a.has(fmt.Sprintf("FD%d %s", fd, path)), "CMD's fd %d is the agent's file %s: %q", fd, path, a.lines())
	}
	var stat procInfo
	for _, l := range a.lines() {
		if s, ok := strings.CutPrefix(l, "STAT "); ok {
			stat, _ = parseStat(s)
		}
	}
	require.NotZero(t, stat.pid, "CMD's stat: %q", a.lines())
	assert.Equal(t, stat.pid, stat.pgrp, "CMD leads its own process group")
	assert.Equal(t, rep.CMDPID, stat.pid)
	assert.Equal(t, rep.PID, stat.ppid, "CMD is the agent's child")
}

// Each forwarded signal reaches CMD; SIGTERM last, which CMD exits on.
func testForwardedSignals(t *testing.T, opts agentOpts) {
	a := startAgent(t, opts, helperConfig{Command: sh(`
for s in HUP INT QUIT USR1 USR2 WINCH; do trap "ev GOT_$s" $s; done
trap 'ev GOT_TERM; exit 42' TERM
ev READY; idle`)})
	a.waitEvent(t, "READY")
	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH} {
		a.signal(t, sig)
		a.waitEvent(t, "GOT_"+strings.TrimPrefix(unix.SignalName(sig), "SIG"))
	}
	a.signal(t, syscall.SIGTERM)
	rep := a.wait(t)
	assert.Equal(t, 42, rep.Code)
	assertPID1(t, opts, rep)
	assert.Equal(t, []string{"READY", "GOT_HUP", "GOT_INT", "GOT_QUIT", "GOT_USR1", "GOT_USR2", "GOT_WINCH", "STOPPING", "GOT_TERM"}, a.lines(),
		"every signal reached CMD once, and OnStopping ran before SIGTERM was forwarded")
}

// A CMD that does not exit on SIGTERM is killed with SIGKILL after
// StopTimeout: 137.
func testStopTimeout(t *testing.T, opts agentOpts) {
	const stopTimeout = 300 * time.Millisecond
	a := startAgent(t, opts, helperConfig{StopTimeout: stopTimeout, Command: sh(`
trap 'ev GOT_TERM' TERM
ev READY; idle; ev "NOT KILLED"`)})
	a.waitEvent(t, "READY")
	sent := time.Now()
	a.signal(t, syscall.SIGTERM)
	a.waitEvent(t, "GOT_TERM")
	rep := a.wait(t)
	elapsed := time.Since(sent)
	assert.Equal(t, 128+9, rep.Code, "CMD died of SIGKILL")
	assertPID1(t, opts, rep)
	assert.GreaterOrEqual(t, elapsed, stopTimeout, "SIGKILL only after the stop timeout")
	assert.Less(t, elapsed, 10*time.Second)
	assert.Equal(t, []string{"READY", "STOPPING", "GOT_TERM"}, a.lines())
}

// On SIGTERM, OnStopping runs first, then the agent waits Drain before it
// forwards SIGTERM. A second SIGTERM ends the drain early.
func testDrain(t *testing.T, opts agentOpts) {
	const script = `trap 'ev GOT_TERM; exit 0' TERM
ev READY; idle`
	t.Run("waits", func(t *testing.T) {
		t.Parallel()
		const drain = 600 * time.Millisecond
		a := startAgent(t, opts, helperConfig{Drain: drain, Command: sh(script)})
		a.waitEvent(t, "READY")
		sent := time.Now()
		a.signal(t, syscall.SIGTERM)
		a.waitEvent(t, "STOPPING")
		time.Sleep(time.Until(sent.Add(drain / 2)))
		assert.False(t, a.has("GOT_TERM"), "SIGTERM forwarded before the drain was over")
		rep := a.wait(t)
		elapsed := time.Since(sent)
		assert.Equal(t, 0, rep.Code)
		assertPID1(t, opts, rep)
		assert.GreaterOrEqual(t, elapsed, drain)
		assert.Equal(t, []string{"READY", "STOPPING", "GOT_TERM"}, a.lines())
	})
	t.Run("second SIGTERM ends it", func(t *testing.T) {
		t.Parallel()
		a := startAgent(t, opts, helperConfig{Drain: time.Minute, Command: sh(script)})
		a.waitEvent(t, "READY")
		a.signal(t, syscall.SIGTERM)
		a.waitEvent(t, "STOPPING")
		a.signal(t, syscall.SIGTERM)
		rep := a.wait(t)
		assert.Equal(t, 0, rep.Code)
		assert.Equal(t, []string{"READY", "STOPPING", "GOT_TERM"}, a.lines(), "SIGTERM forwarded once")
	})
}

// With SignalGroup, signals reach every process in CMD's group (here a
// background subshell); without, CMD alone.
func testSignalGroup(t *testing.T, opts agentOpts) {
	const script = `
( trap 'ev GC_USR1' USR1; trap 'exit 0' TERM; ev GC_READY; idle ) &
trap 'ev GOT_USR1' USR1
trap 'kill $! 2>/dev/null; exit 0' TERM
ev READY; idle`
	for _, group := range []bool{true, false} {
		t.Run(fmt.Sprintf("group=%v", group), func(t *testing.T) {
			t.Parallel()
			a := startAgent(t, opts, helperConfig{SignalGroup: group, Command: sh(script)})
			a.waitEvent(t, "READY")
			a.waitEvent(t, "GC_READY")
			a.signal(t, syscall.SIGUSR1)
			a.waitEvent(t, "GOT_USR1")
			if group {
				a.waitEvent(t, "GC_USR1")
			} else {
				time.Sleep(300 * time.Millisecond)
				assert.False(t, a.has("GC_USR1"), "without SignalGroup the signal reached CMD's child")
			}
			a.signal(t, syscall.SIGTERM)
			rep := a.wait(t)
			assert.Equal(t, 0, rep.Code)
			assertPID1(t, opts, rep)
		})
	}
}

// Orphaned grandchildren of CMD are re-parented to the agent (PID 1, or a
// subreaper otherwise), which reaps them while CMD still runs: CMD sees no
// zombie child of the agent, and none is left when the agent is done.
func testReapsOrphans(t *testing.T, opts agentOpts) {
	a := startAgent(t, opts, helperConfig{Command: sh(`
(sleep 0.1 &); (sleep 0.2 &); (sleep 0.1 & sleep 0.1 &)
sleep 0.6
z=
for f in /proc/[0-9]*/stat; do
	{ read -r st < "$f"; } 2>/dev/null || continue
	set -- ${st##*") "}
	[ "$1" = Z ] && [ "$2" = "$PPID" ] && z="$z ${st%% *}"
done
ev "ZOMBIES$z"
exit 3`)})
	rep := a.wait(t)
	assert.Equal(t, 3, rep.Code)
	assertPID1(t, opts, rep)
	assert.Equal(t, []string{"ZOMBIES"}, a.lines(), "no zombie child of the agent while CMD runs")
	assert.Empty(t, rep.Zombies, "no zombie left once the agent is done")
	assert.GreaterOrEqual(t, rep.OrphansReaped, uint64(4), "the orphans were re-parented to the agent and reaped by it")
}

func assertPID1(t *testing.T, opts agentOpts, rep helperReport) {
	t.Helper()
	assert.NotZero(t, rep.CMDPID, "CMD ran")
	if opts.pid1 {
		assert.Equal(t, 1, rep.PID, "the supervisor ran as PID 1")
	} else {
		assert.NotEqual(t, 1, rep.PID)
	}
}

// CMD does not outlive a kill -9'd agent, although it is in a process
// group of its own.
func TestCMDDiesWithTheAgent(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOpts{}, helperConfig{Command: sh(`ev "PID $$"; idle`)})
	var pid int
	require.Eventually(t, func() bool {
		for _, l := range a.lines() {
			if s, ok := strings.CutPrefix(l, "PID "); ok {
				pid, _ = strconv.Atoi(s)
			}
		}
		return pid > 0
	}, 15*time.Second, 5*time.Millisecond)
	a.signal(t, syscall.SIGKILL)
	<-a.exited
	assert.Eventually(t, func() bool {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return true
		}
		p, _ := parseStat(string(b))
		return p.state == "Z" || p.comm != "sh"
	}, 5*time.Second, 5*time.Millisecond, "CMD (pid %d) still runs", pid)
}

// Wait returns when its context ends, leaving CMD running; Stop then stops it.
func TestWaitHonoursContext(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOpts{}, helperConfig{Scenario: "wait", Command: []string{"sleep", "30"}})
	rep := a.wait(t)
	assert.Contains(t, rep.WaitErr, context.DeadlineExceeded.Error())
	assert.Equal(t, 128+15, rep.Code, "Stop forwarded SIGTERM")
}

// Other children of the agent, started through Spawn or CombinedOutput
// while a Supervisor runs, get their exit codes back from the reaper.
func TestSpawnAndCombinedOutputBesideASupervisor(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOpts{}, helperConfig{Scenario: "spawn", Command: []string{"sleep", "30"}})
	rep := a.wait(t)
	assert.Equal(t, 5, rep.SpawnCode)
	assert.Equal(t, 1, rep.OutputCode)
	assert.Equal(t, "out\nerr\n", rep.Output)
	assert.Equal(t, 128+9, rep.TimeoutCode, "killed when its context ended")
	assert.Contains(t, rep.TimeoutErr, context.DeadlineExceeded.Error())
	assert.Equal(t, 128+15, rep.Code)
}

// A TTY app keeps working in its own process group: the agent hands the
// terminal's foreground to CMD's group, so reading the terminal does not stop
// CMD with SIGTTIN.
func TestTerminalForegroundGoesToCMD(t *testing.T) {
	t.Parallel()
	master, slave := openPTY(t)
	go func() { _, _ = io.Copy(io.Discard, master) }() // the terminal's echo
	a := startAgent(t, agentOpts{stdio: slave}, helperConfig{Command: sh(`
ev READY
IFS= read -r line; ev "IN $line"
ev "STAT $(cat /proc/$$/stat)"
exit 4`)})
	a.waitEvent(t, "READY")
	_, err := master.Write([]byte("typed\n"))
	require.NoError(t, err)
	rep := a.wait(t)
	assert.Equal(t, 4, rep.Code)
	assert.True(t, a.has("IN typed"), "CMD read the terminal: %q", a.lines())
	for _, l := range a.lines() {
		if s, ok := strings.CutPrefix(l, "STAT "); ok {
			st, _ := parseStat(s)
			assert.Equal(t, st.pid, st.pgrp, "CMD leads its own process group")
			assert.Equal(t, st.pgrp, st.tpgid, "CMD's group is the terminal's foreground group")
		}
	}
}

// openPTY returns a pseudo-terminal's master (non-blocking, so closing it
// ends reads) and slave.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	master = os.NewFile(uintptr(fd), "/dev/ptmx")
	t.Cleanup(func() { master.Close() })
	require.NoError(t, unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0))
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	require.NoError(t, err)
	slave, err = os.OpenFile("/dev/pts/"+strconv.Itoa(int(n)), os.O_RDWR|unix.O_NOCTTY, 0)
	require.NoError(t, err)
	t.Cleanup(func() { slave.Close() })
	return master, slave
}

// The in-process tests below start nothing: the command is not found, or
// the configuration is refused.

func TestNewSupervisorRefusesBadConfig(t *testing.T) {
	for name, cfg := range map[string]supervise.Config{
		"no command":     {},
		"empty command":  {Command: []string{""}},
		"negative drain": {Command: []string{"true"}, Drain: -time.Second},
		"negative stop":  {Command: []string{"true"}, StopTimeout: -time.Second},
	} {
		_, err := supervise.New(cfg)
		assert.Error(t, err, name)
	}
}

func TestRunCommandThatCannotStart(t *testing.T) {
	notExec := filepath.Join(t.TempDir(), "not-executable")
	require.NoError(t, os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644))
	for _, tc := range []struct {
		command string
		want    int
	}{
		{"portolan-no-such-command", supervise.ExitNotFound},
		{filepath.Join(t.TempDir(), "missing"), supervise.ExitNotFound},
		{notExec, supervise.ExitCannotExecute},
	} {
		s, err := supervise.New(supervise.Config{Command: []string{tc.command}})
		require.NoError(t, err)
		code, err := s.Run(context.Background())
		assert.Error(t, err, tc.command)
		assert.Equal(t, tc.want, code, tc.command)
		assert.Zero(t, s.PID())
		_, err = s.Wait(context.Background())
		assert.Error(t, err, "Wait without a started CMD")
	}
}
