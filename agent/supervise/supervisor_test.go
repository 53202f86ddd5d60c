//go:build linux

package supervise_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/rs/zerolog"

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
	code, out, err := supervise.CombinedOutput(ctx, []string{"sh", "-c", `echo "$GREETING${HOME:+ inherited HOME}"; echo err >&2; exit 1`}, []string{"GREETING=out"})
	rep.OutputCode, rep.Output = code, string(out)
	if err != nil {
		return 96, err
	}
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	rep.TimeoutCode, _, err = supervise.CombinedOutput(short, []string{"sleep", "10"}, nil)
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
