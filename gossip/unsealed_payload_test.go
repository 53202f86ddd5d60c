package gossip

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Unsealed tells what a node without an Envelope (an agent older than view
// keys) sends, a gzip document (RFC 1952 section 2.3.1: ID1 31, ID2 139)
// or a delta ("PD" 1), from anything sealed, under any key: a sealed
// payload starts with envelopeVersion. A payload sealed under another
// service's key must never pass for an unsealed one.
func TestUnsealedTellsPlainPayloadsFromSealedOnes(t *testing.T) {
	src := &memSource{}
	doc := testDoc(t, 3, 4000)
	src.set(3, doc)
	n := &Node{cfg: Config{Source: src}}
	n.dis.init()
	c, err := n.zipped(3)
	require.NoError(t, err)
	d := makeDelta(testDoc(t, 2, 4000), doc)
	assert.True(t, Unsealed(c.gz), "a gzip document")
	assert.True(t, Unsealed(d), "a delta")
	for _, key := range [][]byte{bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)} {
		e, err := NewKeyEnvelope(key)
		require.NoError(t, err)
		for _, p := range [][]byte{c.gz, d} {
			sealed, err := e.Seal(p, doc)
			require.NoError(t, err)
			assert.False(t, Unsealed(sealed), "sealed under a key")
		}
	}
	assert.False(t, Unsealed(nil))
	assert.False(t, Unsealed([]byte{0x1f}))
}
