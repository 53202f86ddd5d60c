package gossip

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A node with neither Source nor OnComposition (home's) fetches no
// document: it has no use for one and, without the agents' Envelope, could
// not open it; so it neither holds nor serves any. The news still reaches
// the agents, which fetch from each other.
func TestNodeWithoutDocumentsFetchesNone(t *testing.T) {
	t.Parallel()
	home := startNode(t, "news-home", time.Second, func(c *Config) { c.Source, c.OnComposition = nil, nil })
	join := withJoin(home.Addr())
	origin := startNode(t, "news-a0", 5*time.Second, join)
	peer := startNode(t, "news-a1", 5*time.Second, join)
	waitMembers(t, []*tnode{home, origin, peer}, 3)
	origin.src.set(1, testDoc(t, 1, 8<<10))
	require.NoError(t, origin.Announce(1))
	require.Eventually(t, func() bool { return peer.hasRev(1) }, 5*time.Second, 10*time.Millisecond)
	time.Sleep(500 * time.Millisecond)
	assert.Zero(t, home.servable(), "home's node holds no document")
	assert.Zero(t, home.local())
}
