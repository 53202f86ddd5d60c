package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/portolan/portolan/internal/pki"
	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/client"
)

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

// cluster is a coordinator and news agents on one private network, set up
// as a user would: home with its default TLS (auto: HTTPS with a CA of its
// own, since it listens on every interface), one scoped join token per
// pool, and agents given home's https:// URL and their join token, nothing
// else (no CA file, no gossip key).
type cluster struct {
	t      *testing.T
	env    *Env
	co     *Container            // its port 7070 published on loopback
	agents map[string]*Container // by hostname
	pin    pki.Pin               // home's CA, as its log says at start
	client *http.Client          // trusts exactly the pinned CA
	tokens map[string]string     // join token by pool
}

// agentOption adjusts an agent's container before it starts.
type agentOption func(host string, o *RunOpts)

// newCluster starts a coordinator, makes a join token per pool and an
// agent per hostname → pool label, and waits until every agent is passing
// on the map.
func newCluster(t *testing.T, pools map[string]string, opts ...agentOption) *cluster {
	t.Helper()
	start := time.Now()
	c := &cluster{t: t, env: NewEnv(t), agents: map[string]*Container{}}
	built := time.Since(start)
	c.co = c.env.Run(RunOpts{
		Name: "coordinator", Aliases: []string{"coordinator"}, Image: c.env.Images.Portolan,
		Publish: []string{"127.0.0.1::7070"},
		Args: []string{"coordinator", "--listen", "0.0.0.0:7070", "--data-dir", "/data",
			"--access-token", adminToken,
			"--deregister-critical-after", "30s", "--gossip-bind", "0.0.0.0:7947"},
	})
	c.pin = waitPin(t, c.co)
	c.client = pinnedClient(c.pin)
	waitFor(t, upTimeout, 100*time.Millisecond, "the coordinator answers over HTTPS", func() (bool, string) {
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
	c.tokens = c.joinTokens(pools)
	hosts := sortedKeys(pools)
	for _, h := range hosts {
		o := RunOpts{Name: h, Image: c.env.Images.NewsAPI, Env: agentEnv("https://coordinator:7070", c.tokens[pools[h]], pools[h])}
		for _, opt := range opts {
			opt(h, &o)
		}
		c.agents[h] = c.env.Run(o)
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

// agentEnv configures the agent (and its gossip) through PORTOLAN_AGENT_*
// variables: the image's ENTRYPOINT is ["/portolan", "agent", "--"], so its
// flags cannot follow. home and the join token are all it is told of home:
// the token pins home's CA, and home hands over the gossip keyring.
func agentEnv(home, token, pool string) []string {
	return []string{
		"PORTOLAN_AGENT_HOME=" + home,
		"PORTOLAN_AGENT_TOKEN=" + token,
		"PORTOLAN_AGENT_SERVICE=news",
		"PORTOLAN_AGENT_PORT=3000",
		"PORTOLAN_AGENT_LABEL=pool=" + pool,
		"PORTOLAN_AGENT_CHECK_HTTP=http://127.0.0.1:3000/health",
		"PORTOLAN_AGENT_CHECK_INTERVAL=500ms",
		"PORTOLAN_AGENT_HEARTBEAT=" + agentHeartbeat.String(),
		"PORTOLAN_AGENT_TTL=" + agentTTL.String(),
		"PORTOLAN_AGENT_GOSSIP_BIND=0.0.0.0",
		"PORTOLAN_AGENT_JOIN=coordinator:7947",
	}
}

// waitPin reads the pin of a coordinator's CA from its log, as an operator
// would copy it (the "serving HTTPS" line's ca_pin).
func waitPin(t testing.TB, co *Container) pki.Pin {
	t.Helper()
	var pin pki.Pin
	waitFor(t, upTimeout, 100*time.Millisecond, co.Name+" logs its CA pin", func() (bool, string) {
		logs, err := co.Logs(0)
		if err != nil {
			return false, err.Error()
		}
		var ok bool
		pin, ok = caPin(logs)
		return ok, "no ca_pin in the log yet"
	})
	return pin
}

// caPin finds the ca_pin field of a JSON log line.
func caPin(logs string) (pki.Pin, bool) {
	for _, line := range strings.Split(logs, "\n") {
		var entry struct {
			CAPin string `json:"ca_pin"`
		}
		if json.Unmarshal([]byte(line), &entry) != nil || entry.CAPin == "" {
			continue
		}
		if pin, err := pki.ParsePin(entry.CAPin); err == nil {
			return pin, true
		}
	}
	return pki.Pin{}, false
}

// pinnedClient trusts exactly the CA with pin, whatever host name it is
// reached by (here a loopback port Docker picked).
func pinnedClient(pin pki.Pin) *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: client.NewTransport(pki.PinnedClientConfig(pin))}
}

// joinTokens creates, through the admin API, one join token per pool:
// service news, label pool=POOL, and room for twice the pool's agents, so
// that a container run again without a goodbye registers beside the
// incarnation it replaces (still live, critical) as a real one would.
func (c *cluster) joinTokens(pools map[string]string) map[string]string {
	c.t.Helper()
	count := map[string]int{}
	for _, pool := range pools {
		count[pool]++
	}
	home := c.home(adminToken)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tokens := map[string]string{}
	for pool, n := range count {
		created, err := home.CreateJoinToken(ctx, &registry.JoinTokenSpec{
			Service: "news", Labels: map[string]string{"pool": pool}, MaxInstances: 2 * n,
			Description: "e2e pool " + pool,
		})
		if err != nil {
			c.t.Fatalf("join token for pool %s: %v", pool, err)
		}
		tokens[pool] = created.Token
	}
	return tokens
}

// home is a client of the coordinator at its current host port, with
// token, over the pinned transport.
func (c *cluster) home(token string) *client.Client {
	c.t.Helper()
	url, err := c.url()
	if err != nil {
		c.t.Fatal(err)
	}
	hc, err := client.New(client.Config{Address: url, Token: token, Timeout: 10 * time.Second, Transport: c.client.Transport})
	if err != nil {
		c.t.Fatal(err)
	}
	return hc
}

// url is the coordinator's base URL from the host.
func (c *cluster) url() (string, error) {
	addr, err := c.co.Port("7070/tcp")
	return "https://" + addr, err
}

// readMap reads GET /v1/map from the coordinator with the admin access token.
func (c *cluster) readMap() (*registry.Map, error) {
	url, err := c.url()
	if err != nil {
		return nil, err
	}
	return getMap(c.client, url, adminToken)
}

// getMap reads GET /v1/map from base with token.
func getMap(hc *http.Client, base, token string) (*registry.Map, error) {
	req, err := http.NewRequest(http.MethodGet, base+"/v1/map", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token) // a join token only registers
	resp, err := hc.Do(req)
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
