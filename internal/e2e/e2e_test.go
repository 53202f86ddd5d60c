package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/registry"
)

func TestMain(m *testing.M) {
	code := m.Run()
	RemoveImages()
	os.Exit(code)
}

const (
	adminToken = "e2e-admin-token"
	// The agents' heartbeat and TTL: short, so a dead agent shows quickly.
	agentHeartbeat = 500 * time.Millisecond
	agentTTL       = 2 * time.Second
	// How late past its TTL a dead agent may turn critical: the registry
	// sweeps every 100 ms here, the tests poll every 50 ms.
	ttlGrace = time.Second
	// How long a cluster may take to come up (containers start in well
	// under a second; the first health check runs every 500 ms).
	upTimeout = 30 * time.Second
)

// cluster is a coordinator and news agents on one private network.
type cluster struct {
	t      *testing.T
	env    *Env
	co     *Container            // its port 7070 published on loopback
	agents map[string]*Container // by hostname
	client *http.Client
}

// newCluster starts a coordinator and an agent per hostname → pool label,
// and waits until every agent is passing on the map.
func newCluster(t *testing.T, pools map[string]string) *cluster {
	t.Helper()
	start := time.Now()
	c := &cluster{t: t, env: NewEnv(t), agents: map[string]*Container{}, client: &http.Client{Timeout: 5 * time.Second}}
	built := time.Since(start)
	c.co = c.env.Run(RunOpts{
		Name: "coordinator", Aliases: []string{"coordinator"}, Image: c.env.Images.Portolan,
		Publish: []string{"127.0.0.1::7070"},
		Args: []string{"coordinator", "--listen", "0.0.0.0:7070", "--data-dir", "/data",
			"--access-token", adminToken, "--agent-token", testenv.AgentToken,
			"--deregister-critical-after", "30s", "--gossip-bind", "0.0.0.0:7947"},
	})
	waitFor(t, upTimeout, 100*time.Millisecond, "the coordinator answers", func() (bool, string) {
		url, err := c.url()
		if err != nil {
			return false, err.Error()
		}
		resp, err := c.client.Get(url + "/metrics")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})
	hosts := sortedKeys(pools)
	for _, h := range hosts {
		c.agents[h] = c.env.Run(RunOpts{Name: h, Image: c.env.Images.NewsAPI, Env: agentEnv(pools[h])})
	}
	waitFor(t, upTimeout, 100*time.Millisecond, "every agent passing on the map", func() (bool, string) {
		m, err := c.readMap()
		if err != nil {
			return false, err.Error()
		}
		for _, h := range hosts {
			ins := instancesOf(m, h)
			if len(ins) != 1 || ins[0].Status != registry.StatusPassing {
				return false, fmt.Sprintf("%s: %s", h, describe(ins))
			}
		}
		return true, ""
	})
	t.Logf("cluster of %d agents up in %s (images ready after %s)", len(pools), time.Since(start).Round(time.Millisecond), built.Round(time.Millisecond))
	return c
}

// agentEnv configures the agent (and its gossip) through PORTOLAN_* variables: the image's
// ENTRYPOINT is ["/portolan", "agent", "--"], so its flags cannot follow.
func agentEnv(pool string) []string {
	return []string{
		"PORTOLAN_HOME=http://coordinator:7070",
		"PORTOLAN_TOKEN=" + testenv.AgentToken,
		"PORTOLAN_SERVICE=news",
		"PORTOLAN_PORT=3000",
		"PORTOLAN_LABEL=pool=" + pool,
		"PORTOLAN_CHECK_HTTP=http://127.0.0.1:3000/health",
		"PORTOLAN_CHECK_INTERVAL=500ms",
		"PORTOLAN_HEARTBEAT=" + agentHeartbeat.String(),
		"PORTOLAN_TTL=" + agentTTL.String(),
		"PORTOLAN_GOSSIP_BIND=0.0.0.0",
		"PORTOLAN_JOIN=coordinator:7947",
	}
}

// url is the coordinator's base URL from the host.
func (c *cluster) url() (string, error) {
	addr, err := c.co.Port("7070/tcp")
	return "http://" + addr, err
}

// readMap reads GET /v1/map from the coordinator with the admin access token.
func (c *cluster) readMap() (*registry.Map, error) {
	url, err := c.url()
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest(http.MethodGet, url+"/v1/map", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+adminToken) // the agent token only registers
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /v1/map: %s: %s", resp.Status, b)
	}
	var m registry.Map
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("decode map: %w", err)
	}
	return &m, nil
}

func (c *cluster) mustMap() *registry.Map {
	c.t.Helper()
	m, err := c.readMap()
	if err != nil {
		c.t.Fatal(err)
	}
	return m
}

// only returns the single instance of hostname on the map.
func (c *cluster) only(host string) registry.MapInstance {
	c.t.Helper()
	ins := instancesOf(c.mustMap(), host)
	if len(ins) != 1 {
		c.t.Fatalf("%s: want one instance on the map, have %s", host, describe(ins))
	}
	return ins[0]
}

// instancesOf lists the news instances of a container hostname: their ids
// are "news-HOSTNAME-" and a random suffix, one per incarnation.
func instancesOf(m *registry.Map, host string) []registry.MapInstance {
	var out []registry.MapInstance
	for _, s := range m.Services {
		for _, in := range s.Instances {
			if strings.HasPrefix(in.ID, "news-"+host+"-") && len(in.ID) == len("news-"+host+"-")+8 {
				out = append(out, in)
			}
		}
	}
	return out
}

func find(m *registry.Map, id string) (registry.MapInstance, bool) {
	return testenv.FindInstance(m, id)
}

func describe(ins []registry.MapInstance) string {
	if len(ins) == 0 {
		return "not on the map"
	}
	var parts []string
	for _, in := range ins {
		parts = append(parts, fmt.Sprintf("%s %s (%s)", in.ID, in.Status, in.Output))
	}
	return strings.Join(parts, ", ")
}

// waitFor polls cond every interval until it holds, failing t after
// timeout with what cond last said.
func waitFor(t testing.TB, timeout, interval time.Duration, what string, cond func() (bool, string)) time.Duration {
	t.Helper()
	start := time.Now()
	last := ""
	for {
		ok, detail := cond()
		if ok {
			return time.Since(start)
		}
		last = detail
		if time.Since(start) > timeout {
			t.Fatalf("waited %s for %s; last: %s", timeout, what, last)
		}
		time.Sleep(interval)
	}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

var threeAgents = map[string]string{"basic-1": "basic", "basic-2": "basic", "premium-1": "premium"}

// A coordinator and three agents, each the PID 1 of its own container on a
// private network, come up and appear on the map as they registered: the
// container's address on that network, the app's port, the labels.
func TestClusterComesUp(t *testing.T) {
	c := newCluster(t, threeAgents)
	m := c.mustMap()
	for host, pool := range threeAgents {
		in := c.only(host)
		a := c.agents[host]
		if ip := a.IP(); in.Address != ip {
			t.Errorf("%s: address %q on the map, container has %q", host, in.Address, ip)
		}
		if in.Port != 3000 || in.Labels["pool"] != pool || in.Service != "news" || in.AgentVersion == "" {
			t.Errorf("%s: %+v", host, in)
		}
		// The agent is the container's PID 1 and the app its child.
		pid1 := a.Inspect("{{.State.Pid}}")
		top := mustDocker(t, "top", a.Name, "-o", "pid,ppid,comm")
		if !hasProcess(top, "newsapi", pid1) {
			t.Errorf("%s: newsapi is not a child of PID 1 (host pid %s):\n%s", host, pid1, top)
		}
	}
	if n := len(m.Services); n != 1 || m.Services[0].Name != "news" || len(m.Services[0].Instances) != 3 {
		t.Errorf("map: %+v", m)
	}
}

// hasProcess reports whether ps output (pid, ppid, comm) lists comm with
// parent ppid.
func hasProcess(ps, comm, ppid string) bool {
	for _, line := range strings.Split(ps, "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && f[1] == ppid && f[2] == comm {
			return true
		}
	}
	return false
}

// docker kill (SIGKILL to the agent: no drain, no goodbye) turns the
// instance critical within its TTL; the others stay passing.
func TestKilledAgentTurnsCritical(t *testing.T) {
	c := newCluster(t, threeAgents)
	victim := c.only("basic-2")

	c.agents["basic-2"].Kill()
	killed := time.Now()
	waitFor(t, agentTTL+ttlGrace+5*time.Second, 50*time.Millisecond, victim.ID+" critical", func() (bool, string) {
		m, err := c.readMap()
		if err != nil {
			return false, err.Error()
		}
		in, ok := find(m, victim.ID)
		if !ok {
			return false, "gone from the map"
		}
		return in.Status == registry.StatusCritical, in.Status + " " + in.Output
	})
	took := time.Since(killed)
	t.Logf("%s critical %s after docker kill (TTL %s)", victim.ID, took.Round(time.Millisecond), agentTTL)
	if took > agentTTL+ttlGrace {
		t.Errorf("critical %s after the kill: later than its TTL %s (+%s grace)", took, agentTTL, ttlGrace)
	}
	m := c.mustMap()
	if in, _ := find(m, victim.ID); in.Output != registry.OutputTTLExpired {
		t.Errorf("%s: output %q, want %q", victim.ID, in.Output, registry.OutputTTLExpired)
	}
	for _, h := range []string{"basic-1", "premium-1"} {
		if in := c.only(h); in.Status != registry.StatusPassing {
			t.Errorf("%s: %s (%s), want passing", h, in.Status, in.Output)
		}
	}
}

// A container that comes back with the same hostname is a new incarnation
// with a new instance id: after docker stop/start the old one has
// deregistered; after docker rm -f and a new run (no goodbye) the old one
// turns critical beside the new one, which is passing.
func TestRestartedAgentDoesNotCollide(t *testing.T) {
	c := newCluster(t, threeAgents)

	// docker stop, docker start: the same container, a new process.
	{
		a := c.agents["premium-1"]
		old := c.only("premium-1")
		a.Stop(10 * time.Second)
		// SIGTERM to PID 1: the agent drained, forwarded it to newsapi,
		// deregistered and exited with the app's code.
		if code := a.Inspect("{{.State.ExitCode}}"); code != "0" {
			t.Errorf("exit code after docker stop: %s, want 0", code)
		}
		if _, ok := find(c.mustMap(), old.ID); ok {
			t.Errorf("%s still on the map after a graceful stop: it did not deregister", old.ID)
		}
		a.Start()
		waitFor(t, upTimeout, 100*time.Millisecond, "premium-1 passing again", func() (bool, string) {
			ins := instancesOf(c.mustMap(), "premium-1")
			return len(ins) == 1 && ins[0].Status == registry.StatusPassing, describe(ins)
		})
		now := c.only("premium-1")
		if now.ID == old.ID {
			t.Errorf("same instance id %s after a restart", now.ID)
		}
		t.Logf("premium-1: %s deregistered on docker stop, %s after docker start", old.ID, now.ID)
	}

	// docker rm -f, docker run with the same name and hostname: a new
	// container, and the old one never said goodbye.
	{
		a := c.agents["basic-1"]
		old := c.only("basic-1")
		a.Recreate()
		var fresh registry.MapInstance
		waitFor(t, upTimeout, 100*time.Millisecond, "a new basic-1 passing and the old one critical", func() (bool, string) {
			ins := instancesOf(c.mustMap(), "basic-1")
			var oldNow *registry.MapInstance
			fresh = registry.MapInstance{}
			for i := range ins {
				if ins[i].ID == old.ID {
					oldNow = &ins[i]
				} else {
					fresh = ins[i]
				}
			}
			ok := len(ins) == 2 && oldNow != nil && oldNow.Status == registry.StatusCritical &&
				fresh.Status == registry.StatusPassing
			return ok, describe(ins)
		})
		t.Logf("old %s critical, new %s passing at %s:%d", old.ID, fresh.ID, fresh.Address, fresh.Port)
		if fresh.Address != a.IP() {
			t.Errorf("new instance at %s, the container has %s", fresh.Address, a.IP())
		}
	}

	// The agents untouched all along are still there, passing.
	if in := c.only("basic-2"); in.Status != registry.StatusPassing {
		t.Errorf("basic-2: %s (%s)", in.Status, in.Output)
	}
}
