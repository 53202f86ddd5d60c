package supervise

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"
)

// defaultStopTimeout is Config.StopTimeout when it is zero.
const defaultStopTimeout = 10 * time.Second

// killGrace is how long the stop sequence waits for CMD to be collected
// after SIGKILL before Run gives up on it (a process stuck in uninterruptible
// sleep survives SIGKILL for as long as it stays stuck).
const killGrace = 5 * time.Second

// Exit codes Run returns when CMD cannot be started, as shells do.
const (
	ExitNotFound      = 127 // CMD was not found
	ExitCannotExecute = 126 // CMD was found but could not be executed
)

// Config configures a Supervisor.
type Config struct {
	// Command is CMD and its arguments. Command[0] is looked up in PATH
	// unless it contains a slash.
	Command []string
	// Env is CMD's environment; nil means the agent's own.
	Env []string
	// SignalGroup forwards signals to CMD's whole process group instead of
	// to CMD alone.
	SignalGroup bool
	// Drain is how long the graceful stop waits, after OnStopping, before it
	// forwards SIGTERM to CMD.
	Drain time.Duration
	// StopTimeout is how long the graceful stop waits, after forwarding
	// SIGTERM, before it kills CMD's process group with SIGKILL. Zero means
	// 10s.
	StopTimeout time.Duration
	// OnStopping, if set, is called once when the graceful stop starts,
	// before Drain. The stop waits for it, so it must return promptly (bound
	// any call home with a timeout).
	OnStopping func()
	// Stdin, Stdout and Stderr are handed to CMD as its file descriptors 0,
	// 1 and 2, with no pipe in between; nil means the agent's own.
	Stdin, Stdout, Stderr *os.File
	// Signals, if set, is where Run takes the signals it forwards from: a
	// channel the caller gave signal.Notify of ForwardedSignals before it
	// started anything, so that none that comes between the caller's start
	// and Run's is lost. nil: Run registers its own.
	Signals <-chan os.Signal
	// Logger receives the supervisor's events; the zero Logger discards them.
	Logger zerolog.Logger
}

// Supervisor runs CMD and supervises it: see the package documentation.
// Each Supervisor runs CMD once.
type Supervisor struct {
	cfg Config
	log zerolog.Logger

	mu       sync.Mutex
	started  bool
	finished bool        // Run has returned: no new stop sequence
	proc     *os.Process // CMD until released; use it with mu held
	pid      int
	phase    int           // phaseRunning, phaseDraining or phaseTerminating
	endDrain chan struct{} // closed when a second SIGTERM cuts the drain short
	drainCut bool
	seqDone  chan struct{} // closed when the stop sequence has returned; nil before it starts

	exited chan struct{} // closed once CMD has been collected
	code   int           // CMD's exit code; written before exited is closed
	gaveUp chan struct{} // closed when CMD survived SIGKILL for killGrace
}

const (
	phaseRunning     = iota // no stop requested
	phaseDraining           // stop sequence started, SIGTERM not yet forwarded
	phaseTerminating        // SIGTERM forwarded
)

// New checks cfg and returns a Supervisor that has not started CMD
// yet.
func New(cfg Config) (*Supervisor, error) {
	if len(cfg.Command) == 0 || cfg.Command[0] == "" {
		return nil, errors.New("agent: no command to supervise")
	}
	if cfg.Drain < 0 || cfg.StopTimeout < 0 {
		return nil, fmt.Errorf("agent: negative drain (%s) or stop timeout (%s)", cfg.Drain, cfg.StopTimeout)
	}
	if err := supported(); err != nil {
		return nil, err
	}
	if cfg.StopTimeout == 0 {
		cfg.StopTimeout = defaultStopTimeout
	}
	if cfg.Stdin == nil {
		cfg.Stdin = os.Stdin
	}
	if cfg.Stdout == nil {
		cfg.Stdout = os.Stdout
	}
	if cfg.Stderr == nil {
		cfg.Stderr = os.Stderr
	}
	cfg.Command = append([]string(nil), cfg.Command...)
	return &Supervisor{
		cfg:      cfg,
		log:      cfg.Logger.With().Str("component", "supervisor").Logger(),
		endDrain: make(chan struct{}),
		exited:   make(chan struct{}),
		gaveUp:   make(chan struct{}),
	}, nil
}

// Start starts CMD in its own process group. It does not handle signals:
// Run does.
func (s *Supervisor) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("agent: supervisor already started")
	}
	s.started = true
	path, err := exec.LookPath(s.cfg.Command[0])
	if err != nil {
		return fmt.Errorf("agent: start %s: %w", s.cfg.Command[0], err)
	}
	env := s.cfg.Env
	if env == nil {
		env = os.Environ()
	}
	attr := &os.ProcAttr{
		Env:   env,
		Files: []*os.File{s.cfg.Stdin, s.cfg.Stdout, s.cfg.Stderr},
		Sys:   sysProcAttr(s.cfg.Stdin),
	}
	proc, err := spawn(path, s.cfg.Command, attr, &s.log, func(_ *os.Process, code int) {
		// Called by the reaper, which holds its lock: keep it short.
		s.code = code
		close(s.exited)
	})
	if err != nil {
		return fmt.Errorf("agent: start %s: %w", s.cfg.Command[0], err)
	}
	s.proc, s.pid = proc, proc.Pid
	s.log.Info().Int("pid", s.pid).Strs("command", s.cfg.Command).Msg("started")
	return nil
}

// PID returns CMD's process ID (also its process group ID), or 0 before
// Start.
func (s *Supervisor) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pid
}

// Wait blocks until CMD has exited and returns its exit code: its exit
// status, or 128+N when it died of signal N. When ctx ends first, Wait
// returns -1 and ctx's error, and CMD keeps running.
func (s *Supervisor) Wait(ctx context.Context) (int, error) {
	if s.PID() == 0 {
		return -1, errors.New("agent: supervisor not started")
	}
	select {
	case <-s.exited:
		s.release()
		return s.code, nil
	case <-ctx.Done():
		return -1, ctx.Err()
	}
}

// Stop starts the graceful stop, as SIGTERM does, and returns at once: call
// OnStopping, wait Drain, forward SIGTERM, wait StopTimeout, then SIGKILL
// CMD's process group. Calling it again while it drains ends the drain;
// after SIGTERM has been forwarded, it forwards SIGTERM again. It does
// nothing before Start or after CMD has exited.
func (s *Supervisor) Stop() {
	s.mu.Lock()
	if s.pid == 0 || s.finished || s.hasExited() {
		s.mu.Unlock()
		return
	}
	switch s.phase {
	case phaseRunning:
		s.phase = phaseDraining
		s.seqDone = make(chan struct{})
		go s.stopSequence(s.seqDone)
		s.mu.Unlock()
	case phaseDraining:
		if !s.drainCut {
			s.drainCut = true
			close(s.endDrain)
		}
		s.mu.Unlock()
	default:
		s.mu.Unlock()
		s.forward(syscall.SIGTERM)
	}
}

// Run is `portolan agent -- CMD`: it handles the forwarded signals, starts
// CMD, and returns CMD's exit code once CMD has exited. SIGTERM starts the
// graceful stop (see Stop); the other signals are forwarded as they arrive.
// When ctx ends, Run stops CMD gracefully too and still returns its exit
// code, at most OnStopping + Drain + StopTimeout + 5s later.
//
// When CMD cannot be started Run returns ExitNotFound or ExitCannotExecute
// with the error; when CMD survives SIGKILL, 128+9 with an error. Run stops
// handling signals when it returns: a caller that must outlive a late
// SIGTERM while it cleans up should keep a signal.Notify of its own
// registered from before Run.
func (s *Supervisor) Run(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return -1, err
	}
	sigs := s.cfg.Signals
	if sigs == nil {
		own := make(chan os.Signal, 16)
		signal.Notify(own, ForwardedSignals()...)
		defer signal.Stop(own)
		sigs = own
	}
	if err := s.Start(); err != nil {
		code := ExitCannotExecute
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
			code = ExitNotFound
		}
		return code, err
	}
	defer s.finish()
	done := ctx.Done()
	for {
		select {
		case <-s.exited:
			s.log.Info().Int("code", s.code).Msg("exited")
			s.release()
			return s.code, nil
		case <-s.gaveUp:
			return 128 + int(syscall.SIGKILL), fmt.Errorf("agent: pid %d survived SIGKILL for %s", s.PID(), killGrace)
		case <-done:
			done = nil
			s.log.Info().Msg("context done: stopping")
			s.Stop()
		case sig := <-sigs:
			if sig == syscall.SIGTERM {
				s.Stop()
			} else {
				s.forward(sig)
			}
		}
	}
}

// finish waits for a started stop sequence to return and prevents new ones.
func (s *Supervisor) finish() {
	s.mu.Lock()
	s.finished = true
	done := s.seqDone
	s.mu.Unlock()
	if done != nil {
		<-done
	}
}

// stopSequence is the graceful stop. Each of its waits ends early when CMD
// exits.
func (s *Supervisor) stopSequence(done chan<- struct{}) {
	defer close(done)
	s.log.Info().Dur("drain", s.cfg.Drain).Dur("stop_timeout", s.cfg.StopTimeout).Msg("stopping")
	if s.cfg.OnStopping != nil {
		s.cfg.OnStopping()
	}
	if !s.pause(s.cfg.Drain, s.endDrain) {
		return
	}
	s.mu.Lock()
	s.phase = phaseTerminating
	s.mu.Unlock()
	s.forward(syscall.SIGTERM)
	if !s.pause(s.cfg.StopTimeout, nil) {
		return
	}
	s.log.Warn().Dur("stop_timeout", s.cfg.StopTimeout).Msg("still running after the stop timeout: killing its process group")
	if err := killGroup(s.pid); err != nil {
		s.log.Debug().Err(err).Msg("SIGKILL to the process group")
	}
	if err := s.signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		s.log.Debug().Err(err).Msg("SIGKILL")
	}
	if !s.pause(killGrace, nil) {
		return
	}
	s.log.Error().Int("pid", s.pid).Msg("survived SIGKILL")
	close(s.gaveUp)
}

// pause waits d, or until cut is closed; it returns false when CMD exits
// first.
func (s *Supervisor) pause(d time.Duration, cut <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-s.exited:
		return false
	case <-cut:
		return true
	case <-t.C:
		return true
	}
}

// forward sends sig to CMD, or to its process group with SignalGroup.
func (s *Supervisor) forward(sig os.Signal) {
	if s.hasExited() {
		return
	}
	var err error
	if s.cfg.SignalGroup {
		err = signalGroup(s.pid, sig)
	} else {
		err = s.signal(sig)
	}
	if err != nil {
		s.log.Debug().Err(err).Str("signal", sig.String()).Msg("forward")
		return
	}
	s.log.Debug().Str("signal", sig.String()).Bool("group", s.cfg.SignalGroup).Msg("forwarded")
}

// signal sends sig to CMD alone. os.Process signals through a pidfd on
// Linux: no PID-reuse race once the reaper has collected CMD.
func (s *Supervisor) signal(sig os.Signal) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return os.ErrProcessDone
	}
	return s.proc.Signal(sig)
}

// release frees CMD's process handle once CMD has been collected.
func (s *Supervisor) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		s.proc.Release()
		s.proc = nil
	}
}

func (s *Supervisor) hasExited() bool {
	select {
	case <-s.exited:
		return true
	default:
		return false
	}
}

// Spawn starts another child of the agent, such as an exec health check, and
// returns it with a channel that receives its exit code (128+N for signal N)
// once the reaper has collected it. Use it instead of os/exec while a
// Supervisor runs: see the package documentation. argv[0] is looked up in
// PATH unless it contains a slash; attr is os.StartProcess's (a nil attr
// starts argv with no open files). Never call Wait on the returned process;
// Signal and Kill are safe (they go through a pidfd) and Release frees it.
func Spawn(argv []string, attr *os.ProcAttr) (*os.Process, <-chan int, error) {
	if len(argv) == 0 {
		return nil, nil, errors.New("agent: spawn: no command")
	}
	if attr == nil {
		attr = &os.ProcAttr{}
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return nil, nil, fmt.Errorf("agent: spawn %s: %w", argv[0], err)
	}
	ch := make(chan int, 1)
	p, err := spawn(path, argv, attr, nil, func(_ *os.Process, code int) { ch <- code })
	if err != nil {
		return nil, nil, fmt.Errorf("agent: spawn %s: %w", argv[0], err)
	}
	return p, ch, nil
}

// maxOutput bounds what CombinedOutput keeps of a command's output.
const maxOutput = 64 << 10

// CombinedOutput runs argv to completion as a child of the agent, through
// the reaper (see Spawn), in its own process group, with standard input from
// /dev/null and env as its environment, and returns its exit code (128+N
// for signal N) and its standard output and error together (the first 64
// KiB). It is exec.Cmd's CombinedOutput for a process where a Supervisor
// runs. env is given, not inherited: the agent's own environment holds its
// secrets, which a command it runs for the app (a health check) must not
// see; nil runs the command with an empty environment. When ctx ends first,
// the command's process group is killed and ctx's error returned with its
// code; so is the group when the command exits, ending what it left
// running there. Output that descendants write after the command has
// exited is cut off after 100ms.
func CombinedOutput(ctx context.Context, argv, env []string) (code int, output []byte, err error) {
	null, err := os.Open(os.DevNull)
	if err != nil {
		return -1, nil, err
	}
	defer null.Close()
	r, w, err := os.Pipe()
	if err != nil {
		return -1, nil, err
	}
	defer r.Close()
	if env == nil {
		env = []string{} // os.StartProcess would give a nil Env the agent's own
	}
	p, exited, err := Spawn(argv, &os.ProcAttr{Env: env, Files: []*os.File{null, w, w}, Sys: sysProcAttr(null)})
	w.Close()
	if err != nil {
		return -1, nil, err
	}
	defer p.Release()
	var buf bytes.Buffer
	read := make(chan struct{})
	go func() {
		defer close(read)
		_, _ = io.Copy(&buf, io.LimitReader(r, maxOutput))
		_, _ = io.Copy(io.Discard, r) // keep the pipe flowing
	}()
	select {
	case code = <-exited:
		// What it left running in its group (`sleep 30 &`) goes with it:
		// a health check run every few seconds would pile such processes
		// up until the container runs out of process ids.
		_ = killGroup(p.Pid)
	case <-ctx.Done():
		err = ctx.Err()
		_ = killGroup(p.Pid) // its own group: Setpgid
		_ = p.Kill()
		select {
		case code = <-exited:
		case <-time.After(killGrace):
			code = -1
		}
	}
	_ = r.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	<-read
	return code, buf.Bytes(), err
}
