package testenv

import (
	"context"
	"encoding/json"
	"net/http"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/client"
)

// AgentToken is the agent token StartCoordinator configures.
const AgentToken = "test-agent-token"

// Agent is a `portolan agent` process under test.
type Agent struct {
	t             testing.TB
	API           string // local API address
	PlacementFile string
	CacheDir      string
	cmd           *exec.Cmd
	waited        chan struct{}
	Output        *SyncBuffer
}

// StartAgent runs `portolan agent --home co --token … FLAGS -- CMD…` with a
// free local API port and a placement file in a temp dir. flags and command
// are separated by "--" in args. It is killed when the test ends.
func StartAgent(t testing.TB, co *Coordinator, args ...string) *Agent {
	t.Helper()
	home := ""
	if co != nil {
		home = co.URL
	}
	return StartAgentAt(t, home, args...)
}

// StartAgentAt is StartAgent with home at any URL ("" for none). Both run
// the agent build (AgentBinary), the one app images carry.
func StartAgentAt(t testing.TB, home string, args ...string) *Agent {
	t.Helper()
	return StartAgentOf(t, AgentBinary(t), home, args...)
}

// StartAgentOf is StartAgentAt running bin, a build of portolan
// (AgentBinary's, say).
func StartAgentOf(t testing.TB, bin, home string, args ...string) *Agent {
	t.Helper()
	SkipShort(t)
	dir := t.TempDir()
	a := &Agent{t: t, API: FreeAddr(t), PlacementFile: filepath.Join(dir, "placement.json"), CacheDir: filepath.Join(dir, "cache"), Output: &SyncBuffer{}}
	full := []string{"--log-format", "console", "agent", "--api", a.API, "--placement-file", a.PlacementFile, "--cache-dir", a.CacheDir}
	if home != "" {
		full = append(full, "--home", home, "--token", AgentToken)
	}
	full = append(full, args...)
	a.cmd = exec.Command(bin, full...)
	a.cmd.Stdout, a.cmd.Stderr = a.Output, a.Output
	if err := a.cmd.Start(); err != nil {
		t.Fatalf("start agent: %v", err)
	}
	a.waited = make(chan struct{})
	go func() { _ = a.cmd.Wait(); close(a.waited) }()
	t.Cleanup(func() {
		_ = a.cmd.Process.Signal(syscall.SIGKILL)
		<-a.waited
		if t.Failed() {
			t.Logf("agent output:\n%s", a.Output.String())
		}
	})
	return a
}

// Signal sends sig to the agent process.
func (a *Agent) Signal(sig syscall.Signal) { _ = a.cmd.Process.Signal(sig) }

// Kill9 kills the agent without letting it say goodbye.
func (a *Agent) Kill9() {
	_ = a.cmd.Process.Signal(syscall.SIGKILL)
	<-a.waited
}

// Wait waits for the agent to exit and returns its exit code.
func (a *Agent) Wait(timeout time.Duration) (int, bool) {
	select {
	case <-a.waited:
		return a.cmd.ProcessState.ExitCode(), true
	case <-time.After(timeout):
		return 0, false
	}
}

// Self reads GET /v1/agent/self; ok is false while the API is not up.
func (a *Agent) Self() (self map[string]any, ok bool) {
	resp, err := http.Get("http://" + a.API + "/v1/agent/self")
	if err != nil {
		return nil, false
	}
	defer resp.Body.Close()
	if json.NewDecoder(resp.Body).Decode(&self) != nil {
		return nil, false
	}
	return self, true
}

// ID waits for the agent's local API and returns its instance id.
func (a *Agent) ID() string {
	a.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if s, ok := a.Self(); ok {
			return s["id"].(string)
		}
		time.Sleep(20 * time.Millisecond)
	}
	a.t.Fatalf("agent API %s did not answer:\n%s", a.API, a.Output.String())
	return ""
}

// homeClient is a coordinator's one agent-API client for tests.
type homeClient struct {
	once sync.Once
	c    *client.Client
	err  error
}

// Home returns the client of the coordinator's agent API the test speaks
// through, with the agent token (the bootstrap join token): the same one
// on every call, so that once it has registered an instance it presents
// that instance's credential.
func (c *Coordinator) Home(t testing.TB) *client.Client {
	t.Helper()
	c.home.once.Do(func() { c.home.c, c.home.err = client.New(client.Config{Address: c.URL, Token: AgentToken}) })
	if c.home.err != nil {
		t.Fatalf("home client: %v", c.home.err)
	}
	return c.home.c
}

// Map reads the service map from the coordinator with the admin access
// token.
func (c *Coordinator) Map(t testing.TB) *registry.Map {
	t.Helper()
	cl, err := client.New(client.Config{Address: c.URL, Token: c.Token})
	if err != nil {
		t.Fatalf("home client: %v", err)
	}
	m, _, err := cl.Map(context.Background(), 0, 0, "")
	if err != nil {
		t.Fatalf("GET %s: %v", registry.PathMap, err)
	}
	return m
}

// FindInstance returns the instance id on m.
func FindInstance(m *registry.Map, id string) (registry.MapInstance, bool) {
	for _, s := range m.Services {
		for _, in := range s.Instances {
			if in.ID == id {
				return in, true
			}
		}
	}
	return registry.MapInstance{}, false
}

// PID returns the agent's process id.
func (a *Agent) PID() int { return a.cmd.Process.Pid }
