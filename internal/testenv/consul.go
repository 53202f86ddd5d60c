package testenv

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	consul "github.com/hashicorp/consul/api"
)

// Consul is a real `consul agent -dev` process under test, on loopback ports
// of its own (built by `make consul` into .tools/consul).
type Consul struct {
	t        testing.TB
	HTTPAddr string // host:port of the HTTP API
	URL      string // http://HTTPAddr
	bin      string
	ports    [4]int // serf LAN, serf WAN, server RPC and HTTP
	dataDir  string
	// Datacenter is the agent's datacenter, dc1 unless StartConsulDC named one.
	Datacenter string
	// ManagementToken is the initial management token of a Consul started
	// with ACLs (StartConsulACL), "" without: the operator's, which Client
	// uses and which no Portolan process under test is given.
	ManagementToken string
	cmd             *exec.Cmd
	waited          chan struct{}
	Output          *SyncBuffer
}

// ConsulBinary returns the consul binary: $PORTOLAN_CONSUL_BIN, or
// .tools/consul at the repository root. ($PORTOLAN_AGENT_CONSUL is the agent's
// --consul flag, which every agent under test would inherit.) When it is
// missing the test is skipped, except under CI=true, where it fails: CI must
// build it (make consul).
func ConsulBinary(t testing.TB) string {
	t.Helper()
	SkipShort(t)
	p := os.Getenv("PORTOLAN_CONSUL_BIN")
	if p == "" {
		_, file, _, _ := runtime.Caller(0)
		p = filepath.Join(filepath.Dir(file), "..", "..", ".tools", "consul")
	}
	if _, err := os.Stat(p); err != nil {
		Missing(t, "no consul binary at "+p+" (run `make consul`, or set PORTOLAN_CONSUL_BIN): "+err.Error())
	}
	return p
}

// StartConsul starts a Consul dev agent and waits until it has a leader. It is
// stopped when the test ends.
func StartConsul(t testing.TB) *Consul {
	t.Helper()
	return StartConsulDC(t, "dc1")
}

// StartConsulDC starts a Consul dev agent as the server of datacenter dc; see
// JoinWAN to join two of them.
func StartConsulDC(t testing.TB, dc string) *Consul {
	t.Helper()
	return startConsul(t, &Consul{t: t, Datacenter: dc})
}

// consulManagementToken is the initial management token of StartConsulACL.
const consulManagementToken = "5b1c3c0e-portolan-test-management"

// StartConsulACL starts a Consul dev agent with ACLs enabled and a default
// policy of deny, as a production Consul runs: a request without a token, or
// whose token's policies do not allow it, is refused (403) or has what it
// may not read filtered out. Client holds the management token; Token makes
// least-privilege tokens.
func StartConsulACL(t testing.TB) *Consul {
	t.Helper()
	return startConsul(t, &Consul{t: t, Datacenter: "dc1", ManagementToken: consulManagementToken})
}

func startConsul(t testing.TB, c *Consul) *Consul {
	t.Helper()
	SkipShort(t)
	c.bin = ConsulBinary(t)
	// A port chosen free may be taken by another test's process before
	// Consul binds it: then Consul exits at once, and new ports are tried.
	for attempt := 1; ; attempt++ {
		c.ports = freePorts(t)
		c.HTTPAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(c.ports[3]))
		c.URL = "http://" + c.HTTPAddr
		if c.start(attempt < 3) {
			break
		}
		t.Logf("consul lost a port to another process (attempt %d); new ports", attempt)
	}
	t.Cleanup(c.Stop)
	return c
}

// freePorts returns distinct free loopback ports (see reservePort).
func freePorts(t testing.TB) [4]int {
	t.Helper()
	var ports [4]int
	for i := range ports {
		ports[i] = reservePort(t)
	}
	return ports
}

// start runs the process on the ports chosen and a fresh data dir (a dev
// agent keeps nothing across restarts), and waits for a leader. With
// retryPorts, a process that exits because a port was taken is reported
// by false rather than failing the test.
func (c *Consul) start(retryPorts bool) bool {
	c.t.Helper()
	dir, err := os.MkdirTemp("", "portolan-consul-")
	if err != nil {
		c.t.Fatal(err)
	}
	c.dataDir = dir
	args := []string{"agent", "-dev", "-bind", "127.0.0.1", "-client", "127.0.0.1", "-data-dir", dir,
		"-node", "portolan-test-" + c.Datacenter, "-datacenter", c.Datacenter, "-log-level", "warn",
		"-http-port", strconv.Itoa(c.ports[3]), "-dns-port", "-1", "-grpc-port", "-1", "-grpc-tls-port", "-1",
		"-serf-lan-port", strconv.Itoa(c.ports[0]), "-serf-wan-port", strconv.Itoa(c.ports[1]),
		"-server-port", strconv.Itoa(c.ports[2])}
	if c.ManagementToken != "" {
		// The Consul agent's own token (node registration, anti-entropy) is
		// the management one: without an agent token the node's info never
		// syncs, and a service registered with a service-only token never
		// reaches the catalog. What is under test is Portolan's tokens.
		args = append(args, "-hcl", `acl { enabled = true, default_policy = "deny", `+
			`tokens { initial_management = "`+c.ManagementToken+`", agent = "`+c.ManagementToken+`" } }`)
	}
	c.cmd = exec.Command(c.bin, args...)
	c.Output = &SyncBuffer{}
	c.cmd.Stdout, c.cmd.Stderr = c.Output, c.Output
	if err := c.cmd.Start(); err != nil {
		c.t.Fatalf("start consul: %v", err)
	}
	c.waited = make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(c.waited) }()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if c.leader() != "" && c.aclReady() {
			return true
		}
		select {
		case <-c.waited:
			if retryPorts && strings.Contains(c.Output.String(), "address already in use") {
				os.RemoveAll(c.dataDir)
				return false
			}
			c.t.Fatalf("consul exited at start:\n%s", c.Output.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	c.t.Fatalf("consul had no leader within 30s:\n%s", c.Output.String())
	return false
}

// JoinWAN joins c's server to other's over the WAN gossip pool, as two
// datacenters, and waits until c lists both.
func (c *Consul) JoinWAN(other *Consul) {
	c.t.Helper()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(other.ports[1]))
	req, _ := http.NewRequest(http.MethodPut, c.URL+"/v1/agent/join/"+addr+"?wan=1", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("consul join -wan %s: %v", addr, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("consul join -wan %s: %s: %s", addr, resp.Status, b)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(c.URL + "/v1/catalog/datacenters")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(b), `"`+other.Datacenter+`"`) {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.t.Fatalf("datacenter %s did not see %s within 30s", c.Datacenter, other.Datacenter)
}

// aclReady reports whether the management token works: the leader
// bootstraps ACLs a moment after it is elected, and until then every
// request that needs a token is refused ("ACL system must be
// bootstrapped"). True without ACLs.
func (c *Consul) aclReady() bool {
	if c.ManagementToken == "" {
		return true
	}
	req, _ := http.NewRequest(http.MethodGet, c.URL+"/v1/acl/token/self", nil)
	req.Header.Set("X-Consul-Token", c.ManagementToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// leader answers GET /v1/status/leader, "" while there is none.
func (c *Consul) leader() string {
	resp, err := http.Get(c.URL + "/v1/status/leader")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return ""
	}
	return strings.Trim(strings.TrimSpace(string(b)), `"`)
}

// Kill sends SIGKILL and waits for the process to die.
func (c *Consul) Kill() {
	if c.cmd == nil || c.cmd.Process == nil {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.waited
	_ = os.RemoveAll(c.dataDir)
}

// Pause stops the agent (SIGSTOP): it holds its connections and answers
// nothing, as a server stalled or cut off mid-request; Resume lets it go on.
// A paused agent is resumed when the test ends, so that it can be stopped.
//
// Pause returns once every thread of the agent has stopped: kill(2) only
// marks the process, and its threads already on a CPU stop when the
// kernel next gets to them, so a loaded machine saw Consul answer a write
// sent 13 ms after the signal.
func (c *Consul) Pause() {
	c.t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		c.t.Fatalf("pause consul: %v", err)
	}
	c.t.Cleanup(c.Resume)
	deadline := time.Now().Add(10 * time.Second)
	for !allStopped(c.cmd.Process.Pid) {
		if time.Now().After(deadline) {
			c.t.Fatalf("pause consul: pid %d still has running threads 10 s after SIGSTOP", c.cmd.Process.Pid)
		}
		time.Sleep(time.Millisecond)
	}
}

// allStopped reports whether every thread of pid is stopped (state T in
// /proc/PID/task/TID/stat); true where there is no /proc to tell.
func allStopped(pid int) bool {
	stats, err := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/stat")
	if err != nil || len(stats) == 0 {
		_, noProc := os.Stat("/proc/self/task")
		return noProc != nil
	}
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			return false
		}
		// "pid (comm) state ...": comm may hold spaces and parentheses.
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 || i+2 >= len(b) || b[i+2] != 'T' {
			return false
		}
	}
	return true
}

// Resume lets a paused agent go on (SIGCONT).
func (c *Consul) Resume() { _ = c.cmd.Process.Signal(syscall.SIGCONT) }

// Restart kills the agent and starts it again on the same ports with an
// empty state, as a dev agent comes back: every registration is gone (and,
// with ACLs, every token but the management one).
func (c *Consul) Restart() {
	c.t.Helper()
	c.Kill()
	c.start(false)
}

// Stop sends SIGTERM, waits up to 10 s, then kills; the data dir is removed.
func (c *Consul) Stop() {
	if c.cmd == nil || c.cmd.Process == nil {
		return
	}
	select {
	case <-c.waited:
	default:
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		select {
		case <-c.waited:
		case <-ctx.Done():
			_ = c.cmd.Process.Signal(syscall.SIGKILL)
			<-c.waited
		}
	}
	_ = os.RemoveAll(c.dataDir)
	if c.t.Failed() {
		c.t.Logf("consul output:\n%s", c.Output.String())
	}
}

// Client returns a Consul API client for this agent.
func (c *Consul) Client(t testing.TB) *consul.Client {
	t.Helper()
	return c.ClientWithToken(t, c.ManagementToken)
}

// ClientWithToken returns a Consul API client for this agent that sends
// token ("" sends none: Consul's anonymous token).
func (c *Consul) ClientWithToken(t testing.TB, token string) *consul.Client {
	t.Helper()
	cfg := consul.DefaultNonPooledConfig()
	cfg.Address, cfg.Token, cfg.TokenFile = c.URL, token, ""
	cl, err := consul.NewClient(cfg)
	if err != nil {
		t.Fatalf("consul client: %v", err)
	}
	return cl
}

// Token creates an ACL policy named name with rules (Consul's HCL rules
// language) and a token holding that policy alone, and returns the token's
// secret. It needs a Consul started with StartConsulACL.
func (c *Consul) Token(t testing.TB, name, rules string) string {
	t.Helper()
	if c.ManagementToken == "" {
		t.Fatalf("consul token %s: this Consul runs without ACLs (start it with StartConsulACL)", name)
	}
	acl := c.Client(t).ACL()
	p, _, err := acl.PolicyCreate(&consul.ACLPolicy{Name: name, Rules: rules}, nil)
	if err != nil {
		t.Fatalf("consul policy %s: %v\n%s", name, err, rules)
	}
	tok, _, err := acl.TokenCreate(&consul.ACLToken{Description: name, Policies: []*consul.ACLTokenPolicyLink{{ID: p.ID}}}, nil)
	if err != nil {
		t.Fatalf("consul token %s: %v", name, err)
	}
	return tok.SecretID
}
