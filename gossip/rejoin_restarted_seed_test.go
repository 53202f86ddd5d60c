package gossip

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Agents join home's gossip address (--join home:7947). When home stops,
// the agents keep gossiping among themselves; when home starts again at the
// same address (under a new node name, as the coordinator draws one each
// start), they must find it again: otherwise home's node stays alone for
// good and its second failure signal (a node gossip declares dead) never
// comes back.
//
// memberlist does not reach back on its own: its push/pull picks only alive
// nodes and it gossips to dead ones only for GossipToTheDeadTime
// (hashicorp/memberlist state.go, pushPull's and gossip's kRandomNodes
// filters), so two sides split longer than that stay split; Serf adds
// reconnect_interval for this (serf/serf.go, handleReconnect). The node's
// own rejoin loop retried its Join list only while it was alone, which two
// agents never are.
func TestRestartedSeedIsRejoinedByAgentsThatKeptEachOther(t *testing.T) {
	t.Parallel()
	home := startNode(t, "home-a", time.Second)
	addr := home.Addr()
	a1 := startNode(t, "agent-1", 5*time.Second, withJoin(addr))
	a2 := startNode(t, "agent-2", 5*time.Second, withJoin(addr))
	waitMembers(t, []*tnode{home, a1, a2}, 3)

	// Home stops as on SIGTERM: it leaves, then shuts down.
	require.NoError(t, home.Leave(2*time.Second))
	require.NoError(t, home.Shutdown())
	waitMembers(t, []*tnode{a1, a2}, 2)

	back := startNode(t, "home-b", time.Second, func(c *Config) { c.Bind = addr })
	require.Eventually(t, func() bool {
		return len(back.Members()) == 3 && slices.Contains(a1.memberNames(), "home-b") && slices.Contains(a2.memberNames(), "home-b")
	}, 20*time.Second, 100*time.Millisecond, "home's new node should be found again by agents that joined its address; home sees %v", back.memberNames())
}
