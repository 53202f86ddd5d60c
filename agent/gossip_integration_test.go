package agent_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/agent"
	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/registry"
)

func mapVia(t *testing.T, a *testenv.Agent, format string) (string, error) {
	out, err := exec.Command(testenv.Binary(t), "map", "--via", a.API, "-o", format).CombinedOutput()
	return string(out), err
}

// With gossip, the map from any agent lists every live node: merged with
// home's view while home answers, from gossip alone when home is gone; and a
// new agent started with home down gets the composition from its peers
// (with --gossip-key-file: home is not there to hand it the keyring).
func TestMapViaAgentAndCompositionFromPeers(t *testing.T) {
	gossipAddr := testenv.FreeAddr(t)
	key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{42}, 32))
	keyFile := filepath.Join(t.TempDir(), "gossip.key")
	require.NoError(t, os.WriteFile(keyFile, []byte(key+"\n"), 0o600))
	co := testenv.StartCoordinator(t, "--gossip-bind", gossipAddr, "--gossip-key", key)
	createService(t, co, "news")
	want := co.Revision(t)
	join := []string{"--gossip-bind", "127.0.0.1:0", "--join", gossipAddr, "--api", testenv.FreeAddr(t)}
	a := testenv.StartAgent(t, co, append(join[:4:4], "--service", "news", "--address", "127.0.0.2", "--port", "3001", "--heartbeat", "300ms", "--ttl", "1s", "--", "sleep", "60")...)
	b := testenv.StartAgent(t, co, append(join[:4:4], "--service", "news", "--port", "3002", "--heartbeat", "300ms", "--ttl", "1s", "--", "sleep", "60")...)
	ids := []string{a.ID(), b.ID()}

	var m registry.Map
	require.Eventually(t, func() bool {
		out, err := mapVia(t, a, "json")
		if err != nil || json.Unmarshal([]byte(out), &m) != nil {
			return false
		}
		return m.View == "home+gossip" && countInstances(&m, ids) == 2
	}, 10*time.Second, 50*time.Millisecond)
	registered := endpoints(&m)
	require.Equal(t, "127.0.0.2:3001", registered[a.ID()])
	require.Regexp(t, `:3002$`, registered[b.ID()])
	// b's gossip starts once home has answered its registration: a moment
	// after home lists it.
	assert.Eventually(t, func() bool {
		table, err := mapVia(t, b, "table")
		return err == nil && strings.HasPrefix(table, "view: home+gossip\n")
	}, 5*time.Second, 50*time.Millisecond, "the table from b says view: home+gossip")

	co.Stop()
	require.Eventually(t, func() bool {
		out, err := mapVia(t, b, "json")
		if err != nil || json.Unmarshal([]byte(out), &m) != nil {
			return false
		}
		return m.View == "gossip" && countInstances(&m, ids) == 2
	}, 10*time.Second, 50*time.Millisecond, "the map from an agent still lists every live node with home gone")
	for _, s := range m.Services {
		for _, in := range s.Instances {
			assert.Equal(t, registry.StatusAlive, in.Status)
			assert.Equal(t, "news", s.Name, "placed on the cached composition's service")
		}
	}
	assert.Equal(t, registered, endpoints(&m), "gossip carries the address and port each agent registered with home")

	// A new agent, home down, with no composition cached but home's signing
	// key and its service's view key (learned at an earlier registration):
	// gets the composition from a peer.
	self, ok := a.Self()
	require.True(t, ok)
	peer, _ := self["gossip"].(string)
	require.NotEmpty(t, peer)
	dir := cacheCopy(t, a.CacheDir, agent.SigningKeyCacheFile, agent.ViewKeyFile)
	c := testenv.StartAgent(t, co, "--gossip-bind", "127.0.0.1:0", "--join", peer, "--gossip-key-file", keyFile, "--service", "news", "--cache-dir", dir, "--", "sleep", "60")
	c.ID()
	require.Eventually(t, func() bool { rev, _ := agentComposition(t, c); return rev == want }, 10*time.Second, 50*time.Millisecond)
}

// endpoints are the map's instances' "address:port", by instance id.
func endpoints(m *registry.Map) map[string]string {
	out := map[string]string{}
	for _, s := range m.Services {
		for _, in := range s.Instances {
			out[in.ID] = net.JoinHostPort(in.Address, strconv.Itoa(in.Port))
		}
	}
	return out
}

func countInstances(m *registry.Map, ids []string) int {
	n := 0
	for _, id := range ids {
		for _, s := range m.Services {
			for _, in := range s.Instances {
				if in.ID == id {
					n++
				}
			}
		}
	}
	return n
}

// Gossip is a second failure signal: a node it declares dead turns critical
// on home's map before its TTL runs out.
func TestGossipDeadTurnsCriticalBeforeTTL(t *testing.T) {
	gossipAddr := testenv.FreeAddr(t)
	co := testenv.StartCoordinator(t, "--gossip-bind", gossipAddr)
	const ttl = 20 * time.Second
	a := testenv.StartAgent(t, co, "--gossip-bind", "127.0.0.1:0", "--join", gossipAddr,
		"--service", "news", "--heartbeat", "1s", "--ttl", ttl.String(), "--", "sleep", "60")
	id := a.ID()
	require.Eventually(t, func() bool { return statusOf(t, co, id) == registry.StatusPassing }, 5*time.Second, 20*time.Millisecond)
	// Gossip starts once registration handed the keyring: kill the agent
	// only once it has joined home's node, or there is nobody to miss it.
	gossipAddrOf(t, a)
	time.Sleep(time.Second)
	a.Kill9()
	killed := time.Now()
	require.Eventually(t, func() bool { return statusOf(t, co, id) == registry.StatusCritical }, ttl-2*time.Second, 50*time.Millisecond,
		"critical from gossip before the TTL")
	in, _ := testenv.FindInstance(co.Map(t), id)
	assert.Contains(t, in.Output, "gossip")
	t.Logf("critical %v after kill -9 (TTL %v)", time.Since(killed), ttl)
}
