// Package testenv starts real Portolan processes for integration tests: the
// binary from $PORTOLAN_BIN (set by make), or one built once per test binary;
// Consul dev agents. Every starter skips its test under go test -short
// (SkipShort), so that -short runs the unit tests alone.
//
// It is imported by tests only, and imports nothing of Portolan but the
// protocol's wire types and client (registry, registry/client).
package testenv

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// builtBinary is a binary built once per test binary.
type builtBinary struct {
	once sync.Once
	path string
	err  error
}

var build, agentBuild builtBinary

// SkipShort skips t under go test -short: it starts processes (the portolan
// binary, Consul, Docker). Every starter of this package calls it; a test
// that starts a process otherwise calls it first.
func SkipShort(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration: starts processes (go test -short skips it)")
	}
}

// Missing skips t because something it needs is not on this machine, saying
// msg, except under CI=true, where it fails: CI provides every dependency
// (the Makefile installs or builds it), so a skip there would prove nothing.
func Missing(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: failing instead of skipping)")
	}
	t.Skip(msg)
}

// Binary returns the path of the portolan binary, building it (and the
// demo app, newsapi, beside it) when $PORTOLAN_BIN is not set.
func Binary(t testing.TB) string {
	t.Helper()
	return binary(t, "PORTOLAN_BIN", &build, func(dir string) (string, error) {
		// The demo app goes beside it, where make build puts it too.
		if err := goBuild(filepath.Join(dir, "newsapi"), "./examples/newsapi"); err != nil {
			return "", err
		}
		path := filepath.Join(dir, "portolan")
		return path, goBuild(path, "./cmd/portolan")
	})
}

// AgentBinary returns the path of the agent build of portolan (README "Two
// builds"), building it when $PORTOLAN_AGENT_BIN is not set.
func AgentBinary(t testing.TB) string {
	t.Helper()
	return binary(t, "PORTOLAN_AGENT_BIN", &agentBuild, func(dir string) (string, error) {
		path := filepath.Join(dir, "portolan-agent")
		return path, goBuild(path, "./cmd/portolan", "-tags", "agentonly")
	})
}

// binary is the path $env names, or the one buildInto builds once per test
// binary into a temporary directory.
func binary(t testing.TB, env string, b *builtBinary, buildInto func(dir string) (string, error)) string {
	t.Helper()
	SkipShort(t)
	if p := os.Getenv(env); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s=%s: %v (run make build)", env, p, err)
		}
		return p
	}
	b.once.Do(func() {
		dir, err := os.MkdirTemp("", "portolan-bin-")
		if err != nil {
			b.err = err
			return
		}
		b.path, b.err = buildInto(dir)
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// goBuild builds pkg of this module, static, into out.
func goBuild(out, pkg string, flags ...string) error {
	_, file, _, _ := runtime.Caller(0)
	cmd := exec.Command("go", append(append([]string{"build"}, flags...), "-o", out, pkg)...)
	cmd.Dir = filepath.Join(filepath.Dir(file), "..", "..")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

// FreeAddr returns a free loopback address for a process to listen on,
// held for t's life (see reservePort).
func FreeAddr(t testing.TB) string {
	t.Helper()
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(reservePort(t)))
}

// Coordinator is a coordinator process under test.
type Coordinator struct {
	t       testing.TB
	Addr    string
	URL     string
	Token   string
	DataDir string
	Args    []string // extra flags
	cmd     *exec.Cmd
	waited  chan struct{}
	Output  *SyncBuffer
	home    homeClient // Home's client, made once
}

// StartCoordinator starts a coordinator on a fresh data dir and a free port
// and waits until it answers. It is stopped when the test ends. While a
// Recorder is installed (RecordOperations), URL is a recording proxy's in
// front of Addr.
func StartCoordinator(t testing.TB, extra ...string) *Coordinator {
	t.Helper()
	SkipShort(t)
	addr := FreeAddr(t)
	c := &Coordinator{
		t: t, Addr: addr, URL: "http://" + addr, Token: "test-admin-token",
		DataDir: t.TempDir(), Args: extra,
	}
	if r := installedRecorder(); r != nil {
		c.URL = startRecordingProxy(t, r, addr)
	}
	c.Start()
	t.Cleanup(c.Stop)
	return c
}

// Start (re)starts the process on the same data dir and address.
func (c *Coordinator) Start() {
	c.t.Helper()
	args := append([]string{"--log-level", "warn", "coordinator", "--listen", c.Addr, "--data-dir", c.DataDir,
		"--access-token", c.Token, "--agent-token", AgentToken}, c.Args...)
	c.cmd = exec.Command(Binary(c.t), args...)
	c.Output = &SyncBuffer{}
	c.cmd.Stdout, c.cmd.Stderr = c.Output, c.Output
	if err := c.cmd.Start(); err != nil {
		c.t.Fatalf("start coordinator: %v", err)
	}
	c.waited = make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(c.waited) }()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		// Asks the process itself: a recording proxy in front of it is
		// up before it.
		resp, err := http.Get("http://" + c.Addr + "/metrics")
		if err == nil {
			resp.Body.Close()
			return
		}
		select {
		case <-c.waited:
			c.t.Fatalf("coordinator exited at start:\n%s", c.Output.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	c.t.Fatalf("coordinator did not answer within 15s:\n%s", c.Output.String())
}

// Kill sends SIGKILL and waits for the process to die.
func (c *Coordinator) Kill() {
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.waited
}

// Stop sends SIGTERM and waits up to 10 s, then kills.
func (c *Coordinator) Stop() {
	if c.cmd == nil || c.cmd.Process == nil {
		return
	}
	select {
	case <-c.waited:
		return
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	select {
	case <-c.waited:
	case <-ctx.Done():
		c.Kill()
	}
}

// Exited reports whether the process has exited, and its exit code.
func (c *Coordinator) Exited() (bool, int) {
	select {
	case <-c.waited:
		return true, c.cmd.ProcessState.ExitCode()
	default:
		return false, 0
	}
}

// Revision reads the published composition revision from /metrics.
func (c *Coordinator) Revision(t testing.TB) uint64 {
	t.Helper()
	resp, err := http.Get(c.URL + "/metrics")
	if err != nil {
		t.Fatalf("read metrics: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read metrics: %v", err)
	}
	m := revisionRE.FindSubmatch(b)
	if m == nil {
		t.Fatalf("no portolan_composition_revision in /metrics")
	}
	n, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatalf("parse revision %q: %v", m[1], err)
	}
	return uint64(n)
}

var revisionRE = regexp.MustCompile(`(?m)^portolan_composition_revision ([0-9.e+]+)$`)
