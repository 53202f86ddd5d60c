package gossip

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func eventFor(n *tnode, kind EventKind, name string) bool {
	for _, e := range n.seenEvents() {
		if e.Kind == kind && e.Node.Name == name {
			return true
		}
	}
	return false
}

func TestShutdownIsReportedDead(t *testing.T) {
	t.Parallel()
	nodes := cluster(t, "dead", 3)
	for _, n := range nodes {
		assert.True(t, eventFor(n, Join, n.Name()), "%s reports its own join", n.Name())
		for _, m := range n.Members() {
			assert.Equal(t, RoleAgent, m.Meta.Role)
			assert.Equal(t, m.Name, m.Meta.InstanceID)
		}
	}

	require.NoError(t, nodes[2].Shutdown()) // no Leave: a crash, as far as the others know
	require.NoError(t, nodes[2].Shutdown(), "Shutdown twice is fine")
	require.ErrorIs(t, nodes[2].Leave(time.Second), ErrShutdown)
	for _, n := range nodes[:2] {
		require.Eventually(t, func() bool { return eventFor(n, Dead, "dead-2") }, 15*time.Second, 20*time.Millisecond, "%s reports dead-2 dead", n.Name())
		assert.False(t, eventFor(n, Leave, "dead-2"))
		assert.Equal(t, []string{"dead-0", "dead-1"}, n.memberNames())
	}
}

func TestLeaveIsReportedLeave(t *testing.T) {
	t.Parallel()
	nodes := cluster(t, "left", 3)
	require.NoError(t, nodes[2].Leave(2*time.Second))
	require.NoError(t, nodes[2].Shutdown())
	for _, n := range nodes[:2] {
		require.Eventually(t, func() bool { return eventFor(n, Leave, "left-2") }, 5*time.Second, 20*time.Millisecond, "%v", n.seenEvents())
		assert.False(t, eventFor(n, Dead, "left-2"))
		assert.Equal(t, []string{"left-0", "left-1"}, n.memberNames())
	}
}

// A node whose peers all went away rejoins by itself once one is back.
func TestAloneNodeRejoins(t *testing.T) {
	t.Parallel()
	seed := startNode(t, "rejoin-0", time.Second)
	addr := seed.Addr()
	require.NoError(t, seed.Shutdown())
	// Start gives up waiting (ctx) but keeps trying in the background.
	lone := startNode(t, "rejoin-1", 500*time.Millisecond, withJoin(addr))
	assert.Equal(t, []string{"rejoin-1"}, lone.memberNames())
	back := startNode(t, "rejoin-0b", time.Second, func(c *Config) { c.Bind = addr })
	require.Eventually(t, func() bool { return len(lone.Members()) == 2 && len(back.Members()) == 2 }, 10*time.Second, 50*time.Millisecond)
}
