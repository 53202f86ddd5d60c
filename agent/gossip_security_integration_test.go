package agent_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/coordinator"
	"github.com/portolan/portolan/gossip"
	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/registry"
)

// homeKeyring reads the coordinator's gossip keyring file.
func homeKeyring(t *testing.T, co *testenv.Coordinator) [][]byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(co.DataDir, coordinator.GossipKeyringFile))
	require.NoError(t, err)
	var st struct{ Keys []string }
	require.NoError(t, json.Unmarshal(b, &st))
	keys, err := gossip.ParseKeys(st.Keys)
	require.NoError(t, err)
	return keys
}

// agentKeyring reads the keyring an agent cached.
func agentKeyring(a *testenv.Agent) [][]byte {
	b, err := os.ReadFile(filepath.Join(a.CacheDir, "gossip-keys.json"))
	if err != nil {
		return nil
	}
	var enc []string
	if json.Unmarshal(b, &enc) != nil {
		return nil
	}
	keys, _ := gossip.ParseKeys(enc)
	return keys
}

// source is a gossip.Source holding one document.
type source struct {
	rev uint64
	doc []byte
}

func (s source) Latest() (uint64, []byte) { return s.rev, s.doc }

// rogue is a gossip node run by the test, as an attacker would run one.
type rogue struct {
	*gossip.Node
	mu  sync.Mutex
	got []uint64
}

func (r *rogue) received() []uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]uint64(nil), r.got...)
}

func startRogue(t *testing.T, name string, keys [][]byte, meta gossip.Meta, src gossip.Source, join ...string) *rogue {
	t.Helper()
	r := &rogue{}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	n, err := gossip.Start(ctx, gossip.Config{
		Name: name, Bind: "127.0.0.1:0", Join: join, Keys: keys, Insecure: len(keys) == 0, Cluster: "portolan",
		Meta: meta, Source: src, Logger: zerolog.Nop(),
		OnComposition: func(rev uint64, _ []byte) {
			r.mu.Lock()
			r.got = append(r.got, rev)
			r.mu.Unlock()
		},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = n.Shutdown() })
	r.Node = n
	return r
}

// gossipAddrOf is the agent's gossip address, from its local API.
func gossipAddrOf(t *testing.T, a *testenv.Agent) string {
	t.Helper()
	var addr string
	require.Eventually(t, func() bool {
		self, ok := a.Self()
		addr, _ = self["gossip"].(string)
		return ok && addr != ""
	}, 10*time.Second, 20*time.Millisecond, "the agent starts gossip once home handed it the keyring")
	return addr
}

// The attack of issue 13: agents started with no gossip flag but --join run
// encrypted with home's keyring; a node without it, holding a composition at
// revision 999999, joins home and the agents and announces it. Nobody lists
// it, nobody adopts its composition, and it hears neither a member nor a
// composition.
func TestGossipNodeWithoutTheKeyLearnsAndInjectsNothing(t *testing.T) {
	gossipAddr := testenv.FreeAddr(t)
	co := testenv.StartCoordinator(t, "--gossip-bind", gossipAddr)
	createService(t, co, "news")
	want := co.Revision(t)
	args := []string{"--gossip-bind", "127.0.0.1:0", "--join", gossipAddr, "--service", "news", "--heartbeat", "300ms", "--ttl", "1s", "--", "sleep", "60"}
	a := testenv.StartAgent(t, co, args...)
	b := testenv.StartAgent(t, co, args...)
	peers := []string{gossipAddr, gossipAddrOf(t, a), gossipAddrOf(t, b)}
	require.Eventually(t, func() bool {
		ra, _ := agentComposition(t, a)
		rb, _ := agentComposition(t, b)
		return ra == want && rb == want
	}, 10*time.Second, 20*time.Millisecond)
	require.NotEmpty(t, agentKeyring(a), "home handed the keyring, cached 0600")
	fi, err := os.Stat(filepath.Join(a.CacheDir, "gossip-keys.json"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	// The forged composition: home's, with a revision far ahead.
	_, d := agentComposition(t, a)
	d.Revision = 999999
	forged, err := json.Marshal(d)
	require.NoError(t, err)
	src := source{rev: 999999, doc: forged}
	meta := gossip.Meta{Role: gossip.RoleAgent, Service: "news", InstanceID: "evil-1", Addr: "127.0.0.9:4444", Revision: 999999}
	rogues := []*rogue{
		startRogue(t, "evil-plain", nil, meta, src, peers...),
		startRogue(t, "evil-wrongkey", [][]byte{bytes.Repeat([]byte{7}, 32)}, meta, src, peers...),
	}
	for _, r := range rogues {
		_ = r.Announce(999999)
	}
	deadline := time.Now().Add(4 * time.Second)
	for time.Now().Before(deadline) {
		for _, r := range rogues {
			require.Len(t, r.Members(), 1, "%s learned a member", r.Name())
			require.Empty(t, r.received(), "%s received a composition", r.Name())
		}
		for _, ag := range []*testenv.Agent{a, b} {
			rev, _ := agentComposition(t, ag)
			require.Equal(t, want, rev, "an agent adopted the forged composition")
		}
		time.Sleep(100 * time.Millisecond)
	}
	out, err := mapVia(t, a, "json")
	require.NoError(t, err, out)
	assert.NotContains(t, out, "evil")
	assert.NotContains(t, out, "127.0.0.9")
}

// portolan gossip rotate-key: agents get the new key at their next heartbeat
// and switch to it without restarting; a node that knows only the old key is
// cut off once the grace ends, and one with the new key joins.
func TestGossipRotateKeyReachesAgentsAndCutsOffTheOldKey(t *testing.T) {
	gossipAddr := testenv.FreeAddr(t)
	co := testenv.StartCoordinator(t, "--gossip-bind", gossipAddr, "--heartbeat", "200ms", "--ttl", "1s", "--gossip-key-grace", "2s")
	args := []string{"--gossip-bind", "127.0.0.1:0", "--join", gossipAddr, "--service", "news", "--heartbeat", "200ms", "--ttl", "1s", "--", "sleep", "60"}
	a := testenv.StartAgent(t, co, args...)
	b := testenv.StartAgent(t, co, args...)
	gossipAddrOf(t, a)
	gossipAddrOf(t, b)
	old := homeKeyring(t, co)
	require.Len(t, old, 1)
	meta := gossip.Meta{Role: gossip.RoleAgent, Service: "news", InstanceID: "old-1"}
	stale := startRogue(t, "old-key", old, meta, source{}, gossipAddr)
	require.Eventually(t, func() bool { return len(stale.Members()) == 4 }, 10*time.Second, 20*time.Millisecond,
		"before the rotation the old key is the cluster's: home, two agents and this node")

	out, err := exec.Command(testenv.Binary(t), "gossip", "rotate-key", "--home", co.URL, "--token", co.Token).CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Contains(t, string(out), `"drop_old_at"`)
	assert.NotContains(t, string(out), gossip.EncodeKey(old[0]), "no key leaves home through the admin API")
	out, err = exec.Command(testenv.Binary(t), "gossip", "rotate-key", "--home", co.URL, "--token", co.Token).CombinedOutput()
	require.Error(t, err)
	assert.Contains(t, string(out), "rotation is in progress")

	require.Eventually(t, func() bool {
		keys := homeKeyring(t, co)
		return len(keys) == 1 && !gossip.SameKeys(keys, old)
	}, 10*time.Second, 50*time.Millisecond, "home drops the old key after the grace")
	newKeys := homeKeyring(t, co)
	for _, ag := range []*testenv.Agent{a, b} {
		require.Eventually(t, func() bool { return gossip.SameKeys(agentKeyring(ag), newKeys) }, 5*time.Second, 20*time.Millisecond,
			"the agent switched to the new key")
	}
	// memberlist's suspicion timeout (up to 6 × 4 probe intervals without
	// confirmation) bounds how long the node takes to see itself alone; a
	// loaded machine stretches the probes.
	require.Eventually(t, func() bool { return len(stale.Members()) == 1 }, 90*time.Second, 100*time.Millisecond,
		"the old-key node is cut off")
	late := startRogue(t, "old-key-late", old, meta, source{}, gossipAddr)
	fresh := startRogue(t, "new-key", newKeys, gossip.Meta{Role: gossip.RoleAgent, Service: "news", InstanceID: "new-1"}, source{}, gossipAddr)
	require.Eventually(t, func() bool {
		names := map[string]bool{}
		for _, m := range fresh.Members() {
			names[m.Name] = true
		}
		return len(names) == 4 && names[a.ID()] && names[b.ID()] && names["new-key"] && !names["old-key"]
	}, 40*time.Second, 50*time.Millisecond, "the agents gossip with the new key: home, a, b and this node, not the old-key one")
	assert.Len(t, late.Members(), 1, "a node with the old key cannot join")
	for _, ag := range []*testenv.Agent{a, b} {
		assert.Equal(t, 1, strings.Count(ag.Output.String(), "gossip: started"), "gossip was not restarted")
	}
}

// The gateway's gossip view, used while home is away, holds only instances
// home registered, at the address home has: a node with the gossip key but
// no registration, and one claiming a registered instance's id with its own
// address, draw no traffic.
func TestGossipViewHoldsOnlyInstancesHomeRegistered(t *testing.T) {
	gossipAddr := testenv.FreeAddr(t)
	co := testenv.StartCoordinator(t, "--gossip-bind", gossipAddr)
	createService(t, co, "news")
	args := []string{"--gossip-bind", "127.0.0.1:0", "--join", gossipAddr, "--service", "news", "--address", "127.0.0.2", "--heartbeat", "300ms", "--ttl", "1s"}
	a := testenv.StartAgent(t, co, append(args, "--port", "3001", "--", "sleep", "60")...)
	b := testenv.StartAgent(t, co, append(args, "--port", "3002", "--", "sleep", "60")...)
	gossipAddrOf(t, a)
	gossipAddrOf(t, b)
	keys := homeKeyring(t, co) // held by a compromised node, say
	startRogue(t, "evil-1", keys, gossip.Meta{Role: gossip.RoleAgent, Service: "news", InstanceID: "evil-1", Addr: "127.0.0.9:4444"}, source{}, gossipAddr)
	startRogue(t, "evil-2", keys, gossip.Meta{Role: gossip.RoleAgent, Service: "news", InstanceID: b.ID(), Addr: "127.0.0.9:4445"}, source{}, gossipAddr)

	var m registry.Map
	require.Eventually(t, func() bool {
		out, err := mapVia(t, a, "json")
		return err == nil && json.Unmarshal([]byte(out), &m) == nil && m.View == registry.ViewHomeGossip && countInstances(&m, []string{"evil-1"}) == 1
	}, 10*time.Second, 50*time.Millisecond, "the rogue is in gossip (shown beside home's map, never passing)")
	co.Stop()
	require.Eventually(t, func() bool {
		out, err := mapVia(t, a, "json")
		return err == nil && json.Unmarshal([]byte(out), &m) == nil && m.View == registry.ViewGossip
	}, 10*time.Second, 50*time.Millisecond)
	assert.Equal(t, map[string]string{a.ID(): "127.0.0.2:3001", b.ID(): "127.0.0.2:3002"}, endpoints(&m),
		"only home's instances, at home's addresses")
}
