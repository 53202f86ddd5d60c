package agent_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/registry"
)

// Gossip stays a second failure signal after home restarts. Agents join
// home's gossip address; while home is stopped they keep gossiping with each
// other, and home's new node (a new name each start) must be found again,
// or nobody ever tells it of a dead agent and instances wait out their TTL
// (README, "Gossip is a second failure signal"; DESIGN: "Each step works on
// its own when the step before it is unreachable").
//
// memberlist pushes and pulls only with alive nodes and gossips to dead ones
// for GossipToTheDeadTime alone (hashicorp/memberlist state.go, pushPull and
// gossip), so nodes that are not alone never reach back; Serf reconnects
// failed members for that (hashicorp/serf serf/serf.go, handleReconnect).
func TestGossipDeadTurnsCriticalBeforeTTLAfterHomeRestarts(t *testing.T) {
	gossipAddr := testenv.FreeAddr(t)
	co := testenv.StartCoordinator(t, "--gossip-bind", gossipAddr)
	const ttl = 30 * time.Second
	start := func() *testenv.Agent {
		return testenv.StartAgent(t, co, "--gossip-bind", "127.0.0.1:0", "--join", gossipAddr,
			"--service", "news", "--heartbeat", "1s", "--ttl", ttl.String(), "--", "sleep", "120")
	}
	a, b := start(), start()
	gossipAddrOf(t, a)
	gossipAddrOf(t, b)
	time.Sleep(2 * time.Second) // both in home's cluster, so in each other's

	co.Stop()
	time.Sleep(3 * time.Second) // home's node has left; a and b keep each other
	co.Start()
	id := a.ID()
	require.Eventually(t, func() bool { return statusOf(t, co, id) == registry.StatusPassing }, 10*time.Second, 50*time.Millisecond,
		"the agent registers again with the restarted home")
	// Leave the agents time to find home's new node (their rejoin backs
	// off from 1 s while home is away).
	time.Sleep(12 * time.Second)

	a.Kill9()
	killed := time.Now()
	require.Eventually(t, func() bool { return statusOf(t, co, id) == registry.StatusCritical }, ttl-5*time.Second, 100*time.Millisecond,
		"critical from gossip before the TTL, as before home restarted")
	in, _ := testenv.FindInstance(co.Map(t), id)
	assert.Contains(t, in.Output, "gossip")
	t.Logf("critical %v after kill -9 (TTL %v)", time.Since(killed), ttl)
}
