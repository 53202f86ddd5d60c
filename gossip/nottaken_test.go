package gossip

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A composition OnComposition could not keep (an agent whose cache cannot
// be written: Source stays where it was) is not taken as held: it is
// neither announced nor served, and is fetched again until it is kept.
func TestCompositionNotTakenIsFetchedAgain(t *testing.T) {
	doc5, doc6 := testDoc(t, 5, 2000), testDoc(t, 6, 2000)
	h := startNode(t, "honest", time.Second)
	h.src.set(5, doc5)
	var full atomic.Bool
	full.Store(true)
	var offered atomic.Int32
	vsrc := &memSource{rev: 5, doc: doc5}
	v := startNode(t, "victim", 5*time.Second, withJoin(h.Addr()), func(c *Config) {
		c.Source = vsrc
		c.OnComposition = func(rev uint64, doc []byte) {
			offered.Add(1)
			if !full.Load() {
				vsrc.set(rev, doc)
			}
		}
	})
	waitMembers(t, []*tnode{h, v}, 2)
	h.src.set(6, doc6)
	require.NoError(t, h.Announce(6))
	require.Eventually(t, func() bool { return offered.Load() > 0 }, 5*time.Second, 20*time.Millisecond)
	time.Sleep(300 * time.Millisecond)
	assert.Equal(t, uint64(5), v.servable(), "a revision not kept is not served")
	assert.Equal(t, uint64(5), v.local())

	full.Store(false) // room again
	require.Eventually(t, func() bool { r, _ := vsrc.Latest(); return r == 6 }, 10*time.Second, 20*time.Millisecond,
		"revision 6, not kept while the disk was full, should be fetched again")
}
