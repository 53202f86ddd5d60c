package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portolan/portolan/registry"
)

// agentStatus is what `portolan status` inside an agent's container says.
type agentStatus struct {
	ID                  string `json:"id"`
	CompositionRevision uint64 `json:"composition_revision"`
	Placement           *struct {
		Service string `json:"service"`
	} `json:"placement"`
	HomeReachable bool `json:"home_reachable"`
}

func (c *cluster) status(host string) (agentStatus, error) {
	var st agentStatus
	out, err := c.agents[host].Exec("/portolan", "status")
	if err != nil {
		return st, err
	}
	err = json.Unmarshal([]byte(out), &st)
	return st, err
}

// mapVia is the map as an agent's local API answers it.
func (c *cluster) mapVia(host string) (*registry.Map, error) {
	out, err := c.agents[host].Exec("/portolan", "map", "--via", "127.0.0.1:7071", "-o", "json")
	if err != nil {
		return nil, fmt.Errorf("%v: %s", err, out)
	}
	var m registry.Map
	return &m, json.Unmarshal([]byte(out), &m)
}

// createService adds a service through the 3scale API from the host.
func (c *cluster) createService(name string) {
	c.t.Helper()
	c.admin(http.MethodPost, "/admin/api/services.json", "name="+name+"&system_name="+name, http.StatusCreated, nil)
}

// admin calls home's 3scale API from the host with the admin access token,
// requires the status want and decodes the JSON answer into out (when not
// nil).
func (c *cluster) admin(method, path, form string, want int, out any) {
	c.t.Helper()
	url, err := c.url()
	if err != nil {
		c.t.Fatal(err)
	}
	req, err := http.NewRequest(method, url+path, strings.NewReader(form))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("", adminToken)
	resp, err := c.client.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	if resp.StatusCode != want {
		c.t.Fatalf("%s %s: %s, want %d: %s", method, path, resp.Status, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
}

// With home cut off the network, agents keep their placement and the last
// composition, and the map from any agent still lists every live node; a
// change made at home meanwhile reaches every agent within 2 s of
// reconnecting.
func TestHomeCutOff(t *testing.T) {
	c := newCluster(t, threeAgents)
	hosts := sortedKeys(threeAgents)
	c.createService("news")
	var rev uint64
	waitFor(t, 10*time.Second, 100*time.Millisecond, "every agent placed on news with the newest composition", func() (bool, string) {
		for _, h := range hosts {
			st, err := c.status(h)
			if err != nil {
				return false, err.Error()
			}
			if st.Placement == nil || st.Placement.Service != "news" || st.CompositionRevision == 0 {
				return false, fmt.Sprintf("%s: %+v", h, st)
			}
			rev = max(rev, st.CompositionRevision)
		}
		return true, ""
	})
	// Each agent's map, home reachable. Reading it is also how an agent
	// without a gateway learns which instances home registered: with home
	// gone, its gossip view lists only those, so that a node claiming a
	// registration it never had is not drawn (the gateway keeps that set
	// current by watching home's map; a bare agent only when asked).
	for _, h := range hosts {
		m, err := c.mapVia(h)
		if err != nil {
			t.Fatalf("map via %s: %v", h, err)
		}
		for _, other := range hosts {
			if ins := instancesOf(m, other); len(ins) != 1 {
				t.Errorf("map via %s with home reachable lists %s as %s", h, other, describe(ins))
			}
		}
	}

	c.co.Disconnect()
	waitFor(t, 15*time.Second, 200*time.Millisecond, "every agent sees home unreachable", func() (bool, string) {
		for _, h := range hosts {
			st, err := c.status(h)
			if err != nil || st.HomeReachable {
				return false, fmt.Sprintf("%s: %+v %v", h, st, err)
			}
		}
		return true, ""
	})
	for _, h := range hosts {
		st, err := c.status(h)
		if err != nil {
			t.Fatal(err)
		}
		if st.Placement == nil || st.Placement.Service != "news" || st.CompositionRevision != rev {
			t.Errorf("%s lost its placement or composition with home cut off: %+v (want revision %d)", h, st, rev)
		}
	}
	for _, h := range hosts {
		m, err := c.mapVia(h)
		if err != nil {
			t.Fatalf("map via %s: %v", h, err)
		}
		if m.View != "gossip" {
			t.Errorf("map via %s: view %q, want gossip", h, m.View)
		}
		for _, other := range hosts {
			if ins := instancesOf(m, other); len(ins) != 1 {
				t.Errorf("map via %s lists %s as %s", h, other, describe(ins))
			}
		}
	}

	// A change at home while it is cut off: imported through the CLI inside
	// its own container.
	doc := filepath.Join(t.TempDir(), "weather.json")
	if err := os.WriteFile(doc, []byte(`{"format":"portolan.composition/v1","services":[{"id":2,"name":"Weather","system_name":"weather"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	mustDocker(t, "cp", doc, c.co.Name+":/weather.json")
	// Home serves HTTPS on every interface: the CLI beside it trusts the CA
	// file in its data dir, and checks the name its certificate gives.
	if out, err := c.co.Exec("/portolan", "import", "composition", "/weather.json", "--token", adminToken,
		"--home", "https://localhost:7070", "--ca-file", "/data/tls/ca.pem"); err != nil {
		t.Fatalf("import at home: %v: %s", err, out)
	}

	c.co.Connect()
	reconnected := time.Now()
	took := waitFor(t, 10*time.Second, 50*time.Millisecond, "the change on every agent", func() (bool, string) {
		for _, h := range hosts {
			st, err := c.status(h)
			if err != nil || st.CompositionRevision <= rev {
				return false, fmt.Sprintf("%s: revision %d %v", h, st.CompositionRevision, err)
			}
		}
		return true, ""
	})
	t.Logf("the change reached all %d agents %s after reconnecting", len(hosts), took.Round(time.Millisecond))
	if took > 2*time.Second {
		t.Errorf("the change took %s after reconnecting, want within 2s", time.Since(reconnected))
	}
}
