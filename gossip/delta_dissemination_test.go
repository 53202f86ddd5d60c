package gossip

import (
	"bytes"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// heldDeltaOf is the delta a node holds to its newest document.
func heldDeltaOf(n *tnode) heldDelta {
	n.dis.mu.Lock()
	defer n.dis.mu.Unlock()
	return n.dis.delta
}

// A small change travels as a delta inside the announcement: every node
// rebuilds the document byte for byte from the one it had.
func TestSmallChangeTravelsAsDeltaInAnnouncement(t *testing.T) {
	t.Parallel()
	nodes := cluster(t, "dann", 4)
	origin := nodes[0]
	v1 := testDoc(t, 1, 64<<10)
	origin.src.set(1, v1)
	require.NoError(t, origin.Announce(1))
	for _, n := range nodes[1:] {
		require.Eventually(t, func() bool { return n.hasRev(1) }, 5*time.Second, 10*time.Millisecond, n.Name())
	}
	v2 := editDoc(v1, 40<<10, `"pattern":"/changed"`)
	origin.src.set(2, v2)
	require.NoError(t, origin.Announce(2))
	d := heldDeltaOf(origin)
	require.NotNil(t, d.d, "the origin made a delta from revision 1")
	assert.Equal(t, uint64(1), d.base)
	assert.Less(t, len(d.d), maxAnnounceBytes/2, "one edit makes a delta of a few hundred bytes")

	for _, n := range nodes[1:] {
		require.Eventually(t, func() bool { return n.hasRev(2) }, 5*time.Second, 10*time.Millisecond, n.Name())
		got := n.got()
		require.Len(t, got, 2, n.Name())
		assert.True(t, bytes.Equal(v2, got[1].doc), "%s rebuilt revision 2 byte for byte", n.Name())
		assert.Equal(t, d, heldDeltaOf(n), "%s holds the delta it took, to pass on", n.Name())
	}
}

// A node that missed the announcement asks from the revision it has and is
// sent the delta over TCP; a node without that revision gets the whole
// document.
func TestLateNodeIsSentTheDeltaFromItsRevision(t *testing.T) {
	t.Parallel()
	nodes := cluster(t, "dtcp", 2, withPushPull(time.Second))
	v1 := testDoc(t, 1, 64<<10)
	v2 := editDoc(v1, 30<<10, `"pattern":"/changed"`)
	nodes[0].src.set(1, v1)
	require.NoError(t, nodes[0].Announce(1))
	require.Eventually(t, func() bool { return nodes[1].hasRev(1) }, 5*time.Second, 10*time.Millisecond)
	nodes[0].src.set(2, v2)
	require.NoError(t, nodes[0].Announce(2))
	require.Eventually(t, func() bool { return nodes[1].hasRev(2) }, 5*time.Second, 10*time.Millisecond)
	time.Sleep(time.Second) // the announcements run out

	behind := startNode(t, "dtcp-behind", 5*time.Second, withPushPull(time.Second), withJoin(nodes[1].Addr()),
		func(c *Config) { c.Source.(*memSource).set(1, v1) })
	blank := startNode(t, "dtcp-blank", 5*time.Second, withPushPull(time.Second), withJoin(nodes[1].Addr()))
	for _, n := range []*tnode{behind, blank} {
		require.Eventually(t, func() bool { return n.hasRev(2) }, 5*time.Second, 10*time.Millisecond, n.Name())
		assert.True(t, bytes.Equal(v2, n.got()[0].doc), "%s has revision 2 byte for byte", n.Name())
	}
	assert.Equal(t, uint64(1), heldDeltaOf(behind).base, "the node at revision 1 was sent the delta")
	assert.Nil(t, heldDeltaOf(blank).d, "the node with nothing was sent the whole document")
}

// A document rebuilt from a delta goes through Accept like a fetched one; a
// delta made from another base is not taken and the node fetches the whole
// document instead.
func TestRebuiltDocumentIsCheckedLikeAFetchedOne(t *testing.T) {
	t.Parallel()
	var refuse atomic.Bool
	var checked atomic.Int32
	accept := func(c *Config) {
		c.Accept = func(uint64, []byte) error {
			checked.Add(1)
			if refuse.Load() {
				return errors.New("bad signature")
			}
			return nil
		}
	}
	nodes := cluster(t, "dacc", 2)
	v1 := testDoc(t, 1, 32<<10)
	nodes[0].src.set(1, v1)
	// Same revision, other bytes (another service's view): its deltas do not
	// apply here.
	other := editDoc(v1, 100, "other")
	receiver := startNode(t, "dacc-r", 5*time.Second, withJoin(nodes[0].Addr()), accept,
		func(c *Config) { c.Source.(*memSource).set(1, other) })
	waitMembers(t, []*tnode{nodes[0], nodes[1], receiver}, 3)
	require.NoError(t, nodes[0].Announce(1))

	v2 := editDoc(v1, 20<<10, "change")
	nodes[0].src.set(2, v2)
	require.NoError(t, nodes[0].Announce(2))
	require.Eventually(t, func() bool { return receiver.hasRev(2) }, 5*time.Second, 10*time.Millisecond)
	assert.True(t, bytes.Equal(v2, receiver.got()[0].doc), "the whole document came instead")
	assert.Nil(t, heldDeltaOf(receiver).d)
	assert.EqualValues(t, 1, checked.Load(), "Accept saw revision 2 once")

	refuse.Store(true)
	v3 := editDoc(v2, 10<<10, "again")
	nodes[0].src.set(3, v3)
	require.NoError(t, nodes[0].Announce(3))
	require.Eventually(t, func() bool { return nodes[1].hasRev(3) }, 5*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool { return checked.Load() >= 2 }, 5*time.Second, 10*time.Millisecond)
	time.Sleep(time.Second)
	assert.False(t, receiver.hasRev(3), "a refused document, delta or whole, is not taken")
	assert.Len(t, receiver.got(), 1)
}

// An announced delta that did not apply is skipped when it comes again, for a while: each copy would cost a rebuild.
func TestAnnouncedDeltaThatDidNotApplyIsSkippedWhenItComesAgain(t *testing.T) {
	noFetch := func(c *Config) { c.Source, c.OnComposition = nil, nil } // no fetch loop: the test takes offers itself
	nodes := cluster(t, "badoffer", 2, noFetch)
	n, holder := nodes[0], nodes[1]
	n.dis.mu.Lock()
	n.dis.plain = plainDoc{rev: 5, doc: testDoc(t, 5, 2000)}
	n.dis.mu.Unlock()
	offered := func() uint64 {
		n.dis.mu.Lock()
		defer n.dis.mu.Unlock()
		return n.dis.offer.Revision
	}

	bad := announce{Revision: 9, Holder: holder.Name(), Base: 5, Delta: []byte("not a delta")}
	n.heard(bad, false)
	require.Equal(t, uint64(9), offered(), "the first copy is offered")
	assert.False(t, n.takeOffer(), "a delta that does not apply is not taken")

	n.heard(bad, false)
	assert.Zero(t, offered(), "the same delta again is skipped")
	n.heard(announce{Revision: 10, Holder: holder.Name(), Base: 5, Delta: []byte("another")}, false)
	assert.Equal(t, uint64(10), offered(), "another delta is offered")
}
