package gossip

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAnnouncedRevisionReachesEveryNode(t *testing.T) {
	t.Parallel()
	nodes := cluster(t, "dis", 5)
	origin := nodes[0]
	doc := testDoc(t, 7, 256<<10)
	origin.src.set(7, doc)
	require.NoError(t, origin.Announce(7))

	require.Eventually(t, func() bool {
		for _, n := range nodes[1:] {
			if len(n.got()) == 0 {
				return false
			}
		}
		return true
	}, 10*time.Second, 10*time.Millisecond, "every node fetches revision 7")
	for _, n := range nodes[1:] {
		got := n.got()
		require.Len(t, got, 1, n.Name())
		assert.Equal(t, uint64(7), got[0].rev, n.Name())
		assert.True(t, bytes.Equal(doc, got[0].doc), "%s got the document byte for byte", n.Name())
	}
	assert.Empty(t, origin.got(), "the origin had revision 7 already")

	// A stale node announces revision 5 afterwards: nobody takes it.
	stale := nodes[4]
	stale.src.set(5, testDoc(t, 5, 8<<10))
	require.NoError(t, stale.Announce(5))
	time.Sleep(2 * time.Second) // ten gossip rounds
	for _, n := range nodes {
		for _, d := range n.got() {
			assert.Equal(t, uint64(7), d.rev, "%s never takes revision 5", n.Name())
		}
		if n != origin {
			assert.Len(t, n.got(), 1, "%s got nothing after revision 7", n.Name())
		}
	}
}

func TestAnnounceNeedsTheDocument(t *testing.T) {
	t.Parallel()
	n := startNode(t, "ann", time.Second)
	require.ErrorContains(t, n.Announce(3), "source is at revision 0")
	require.ErrorContains(t, n.Announce(0), "revision 0")
	n.src.set(3, []byte(`{}`))
	require.NoError(t, n.Announce(3))
	require.NoError(t, n.Shutdown())
	require.ErrorIs(t, n.Announce(3), ErrShutdown)
}

// A node started later learns the newest revision from push/pull when it
// joins, and fetches it; nobody announces anything.
func TestJoinerFetchesNewestRevision(t *testing.T) {
	t.Parallel()
	nodes := cluster(t, "late", 3, withPushPull(time.Second))
	doc := testDoc(t, 9, 64<<10)
	nodes[0].src.set(9, doc)

	// The others learn it within a push/pull interval or so (no broadcast).
	for _, n := range nodes[1:] {
		require.Eventually(t, func() bool { return n.hasRev(9) }, 8*time.Second, 20*time.Millisecond, n.Name())
	}

	// A node joining through another peer than the origin gets it at join.
	late := startNode(t, "late-x", 5*time.Second, withPushPull(time.Second), withJoin(nodes[2].Addr()))
	require.Eventually(t, func() bool { return late.hasRev(9) }, 5*time.Second, 10*time.Millisecond)
	got := late.got()
	require.Len(t, got, 1)
	assert.Equal(t, uint64(9), got[0].rev)
	assert.True(t, bytes.Equal(doc, got[0].doc))
}

// A node cut off while a revision was announced catches up after the
// partition heals, through push/pull.
func TestPartitionedNodeCatchesUp(t *testing.T) {
	t.Parallel()
	nodes := cluster(t, "part", 3, withPushPull(time.Second))
	// "Partition": the last node goes away and comes back under a new
	// incarnation name, as a restarted container would.
	require.NoError(t, nodes[2].Shutdown())
	doc := testDoc(t, 4, 16<<10)
	nodes[0].src.set(4, doc)
	require.NoError(t, nodes[0].Announce(4))
	require.Eventually(t, func() bool { return nodes[1].hasRev(4) }, 5*time.Second, 10*time.Millisecond)
	time.Sleep(time.Second) // the broadcast is over by now

	back := startNode(t, "part-2b", 5*time.Second, withPushPull(time.Second), withJoin(nodes[1].Addr()))
	require.Eventually(t, func() bool { return back.hasRev(4) }, 5*time.Second, 10*time.Millisecond)
	assert.True(t, bytes.Equal(doc, back.got()[0].doc))
}

// OnComposition is never called for a revision at or below the Source's.
func TestNeverGoesBack(t *testing.T) {
	t.Parallel()
	nodes := cluster(t, "mono", 3)
	nodes[2].src.set(10, testDoc(t, 10, 1<<10)) // ahead on its own
	nodes[0].src.set(8, testDoc(t, 8, 1<<10))
	require.NoError(t, nodes[0].Announce(8))
	require.Eventually(t, func() bool { return nodes[1].hasRev(8) }, 5*time.Second, 10*time.Millisecond)
	time.Sleep(time.Second)
	assert.Empty(t, nodes[2].got(), "a node at 10 takes nothing older")
	for _, n := range nodes {
		var last uint64
		for _, d := range n.got() {
			assert.Greater(t, d.rev, last, n.Name())
			last = d.rev
		}
	}
}

// An old document a peer serves under a forged revision is refused, and the real next revision still arrives.
func TestOldDocumentUnderAForgedRevisionDoesNotStopNewerOnes(t *testing.T) {
	doc5, doc6 := testDoc(t, 5, 2000), testDoc(t, 6, 2000)
	signed := func(doc []byte) bool { return string(doc) == string(doc5) || string(doc) == string(doc6) }
	// Every agent's Accept checks home's signature and binds the revision
	// to the document, as Config.Accept asks.
	accept := func(c *Config) {
		c.Accept = func(rev uint64, doc []byte) error {
			var head struct{ Revision uint64 }
			if !signed(doc) || json.Unmarshal(doc, &head) != nil || head.Revision != rev {
				return fmt.Errorf("bad signature")
			}
			return nil
		}
	}

	h := startNode(t, "honest", time.Second, accept)
	h.src.set(5, doc5)

	vsrc := &memSource{rev: 5, doc: doc5}
	v := startNode(t, "victim", 5*time.Second, withJoin(h.Addr()), accept, func(c *Config) {
		c.Source = vsrc
		c.OnComposition = func(_ uint64, doc []byte) { // the agent installs by the view's own revision, never going back
			if string(doc) == string(doc6) {
				vsrc.set(6, doc6)
			}
		}
	})

	r := startNode(t, "rogue", 5*time.Second, withJoin(h.Addr()))
	waitMembers(t, []*tnode{h, v, r}, 3)
	r.src.set(999999, doc5) // a genuine old document under a forged revision
	require.NoError(t, r.Announce(999999))
	require.Eventually(t, func() bool {
		v.dis.mu.Lock()
		defer v.dis.mu.Unlock()
		return v.dis.refused["rogue"] == 999999
	}, 5*time.Second, 20*time.Millisecond, "the victim refuses the old document offered as revision 999999")
	require.Equal(t, uint64(5), v.local(), "the victim keeps revision 5")
	require.NoError(t, r.Leave(time.Second))
	require.NoError(t, r.Shutdown())

	h.src.set(6, doc6)
	require.NoError(t, h.Announce(6))
	require.Eventually(t, func() bool { rev, _ := vsrc.Latest(); return rev == 6 }, 5*time.Second, 20*time.Millisecond,
		"the genuine revision 6 reaches the victim")
}
