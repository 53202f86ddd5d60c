package main

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/registry"
)

// Two Consul dev agents as two datacenters joined over WAN, a Portolan agent
// registered in each: `portolan map --consul --all-datacenters` shows both,
// --dc one of them.
func TestMapConsulAllDatacenters(t *testing.T) {
	dc1, dc2 := testenv.StartConsulDC(t, "dc1"), testenv.StartConsulDC(t, "dc2")
	dc1.JoinWAN(dc2)
	agent := func(c *testenv.Consul, port string) *testenv.Agent {
		return testenv.StartAgentAt(t, "", "--consul", c.URL, "--service", "newsapi", "--address", "127.0.0.1",
			"--port", port, "--heartbeat", "200ms", "--ttl", "1s", "--label", "zone="+c.Datacenter, "--", "sleep", "300")
	}
	a, b := agent(dc1, "3001"), agent(dc2, "3002")
	aID, bID := a.ID(), b.ID()

	portolanMap := func(args ...string) (string, error) {
		out, err := exec.Command(testenv.Binary(t), append([]string{"map", "--consul", dc1.URL}, args...)...).CombinedOutput()
		return string(out), err
	}
	var m registry.Map
	require.Eventually(t, func() bool {
		out, err := portolanMap("--all-datacenters", "-o", "json")
		if err != nil || json.Unmarshal([]byte(out), &m) != nil || len(m.Services) != 1 {
			return false
		}
		passing := 0
		for _, in := range m.Services[0].Instances {
			if in.Status == registry.StatusPassing {
				passing++
			}
		}
		return passing == 2
	}, 20*time.Second, 100*time.Millisecond, "both datacenters' instances on the map")
	s := m.Services[0]
	assert.Equal(t, "newsapi", s.Name)
	require.Len(t, s.Instances, 2)
	byDC := map[string]registry.MapInstance{}
	for _, in := range s.Instances {
		byDC[in.Datacenter] = in
	}
	assert.Equal(t, aID, byDC["dc1"].ID)
	assert.Equal(t, bID, byDC["dc2"].ID)
	assert.Equal(t, 3002, byDC["dc2"].Port)
	assert.Equal(t, map[string]string{"zone": "dc2"}, byDC["dc2"].Labels)

	out, err := portolanMap("--all-datacenters")
	require.NoError(t, err, out)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 3, out)
	assert.Regexp(t, `^DATACENTER\s+SERVICE\s+PLAN\s+INSTANCE\s+ADDRESS\s+STATUS\s+AGE$`, lines[0])
	assert.Regexp(t, `^dc1\s+newsapi\s+-\s+`+aID+`\s+127\.0\.0\.1:3001\s+passing\s+-$`, lines[1])
	assert.Regexp(t, `^dc2\s+newsapi\s+-\s+`+bID+`\s+127\.0\.0\.1:3002\s+passing\s+-$`, lines[2])

	out, err = portolanMap("--dc", "dc2", "-o", "json")
	require.NoError(t, err, out)
	require.NoError(t, json.Unmarshal([]byte(out), &m))
	require.Len(t, m.Services, 1)
	require.Len(t, m.Services[0].Instances, 1)
	assert.Equal(t, bID, m.Services[0].Instances[0].ID)

	out, err = portolanMap("--dc", "dc2", "--all-datacenters")
	require.Error(t, err)
	assert.Contains(t, out, "--dc and --all-datacenters")
	out, err = portolanMap("--dc", "nowhere")
	require.Error(t, err)
	assert.Contains(t, out, "nowhere")
}
