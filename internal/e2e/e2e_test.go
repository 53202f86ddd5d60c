package e2e

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/portolan/portolan/registry"
)

func TestMain(m *testing.M) {
	code := m.Run()
	RemoveImages()
	os.Exit(code)
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
