package gossip

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func withEnvelope(e Envelope) opt { return func(c *Config) { c.Envelope = e } }

func keyEnvelope(t testing.TB, b byte) *KeyEnvelope {
	t.Helper()
	e, err := NewKeyEnvelope(key(b, EnvelopeKeySize))
	require.NoError(t, err)
	return e
}

// tamperer seals under its key and then flips a byte of the ciphertext, as
// a node on the way could.
type tamperer struct{ *KeyEnvelope }

func (e tamperer) Seal(plain, source []byte) ([]byte, error) {
	b, err := e.KeyEnvelope.Seal(plain, source)
	if err == nil {
		b[len(b)/2] ^= 0x40
	}
	return b, err
}

func TestKeyEnvelopeSealsAndOpens(t *testing.T) {
	t.Parallel()
	e := keyEnvelope(t, 7)
	plain := []byte(`{"secret_token":"only-for-news"}`)
	a, err := e.Seal(plain, plain)
	require.NoError(t, err)
	b, err := e.Seal(plain, plain)
	require.NoError(t, err)
	assert.NotEqual(t, a, b, "a fresh nonce each time")
	assert.False(t, bytes.Contains(a, []byte("only-for-news")), "sealed bytes hold no plaintext")
	got, err := e.Open(a)
	require.NoError(t, err)
	assert.Equal(t, plain, got)

	_, err = keyEnvelope(t, 8).Open(a)
	assert.ErrorIs(t, err, errNotSealed, "another service's key opens nothing")
	for _, i := range []int{0, 1, 13, len(a) / 2, len(a) - 1} {
		bad := bytes.Clone(a)
		bad[i] ^= 1
		_, err := e.Open(bad)
		assert.ErrorIs(t, err, errNotSealed, "byte %d altered", i)
	}
	for _, n := range []int{0, 1, 12, 28, len(a) - 1} {
		_, err := e.Open(a[:n])
		assert.ErrorIs(t, err, errNotSealed, "truncated to %d bytes", n)
	}
	_, err = e.Open(plain)
	assert.ErrorIs(t, err, errNotSealed, "plaintext from an unsealed node")

	_, err = NewKeyEnvelope(key(1, 16))
	assert.Error(t, err, "AES-256 only")
}

// Nodes of two services share the cluster but not an envelope: a node of
// the other service, even claiming the first one's service in its metadata
// (every node here says "news"), fetches only bytes it cannot read, and
// never takes the document; nodes of the same service converge as before.
func TestEnvelopeKeepsDocumentsWithinTheService(t *testing.T) {
	t.Parallel()
	envA, envB := keyEnvelope(t, 1), keyEnvelope(t, 2)
	origin := startNode(t, "env-a0", time.Second, withEnvelope(envA))
	join := withJoin(origin.Addr())
	peerA := startNode(t, "env-a1", 5*time.Second, join, withEnvelope(envA))
	other := startNode(t, "env-b0", 5*time.Second, join, withEnvelope(envB))
	plainNode := startNode(t, "env-x0", 5*time.Second, join) // the keyring and nothing else
	all := []*tnode{origin, peerA, other, plainNode}
	waitMembers(t, all, 4)

	secret := []byte("Shared_secret_sent_from_proxy_to_API_backend_news")
	v1 := append(testDoc(t, 1, 8<<10), secret...)
	origin.src.set(1, v1)
	require.NoError(t, origin.Announce(1))
	require.Eventually(t, func() bool { return peerA.hasRev(1) }, 5*time.Second, 10*time.Millisecond)
	assert.Equal(t, v1, peerA.got()[0].doc, "the same service's node opens and takes it")

	// What a stranger gets when it asks outright.
	self, ok := origin.Node.events.peer(origin.Name())
	require.True(t, ok)
	for _, n := range []*tnode{other, plainNode} {
		r, err := n.request(self.node(), 1, 0)
		require.NoError(t, err, n.Name())
		require.NotEmpty(t, r.Doc)
		assert.False(t, bytes.Contains(r.Doc, secret), "%s got the secret in clear", n.Name())
		_, err = gunzip(r.Doc)
		assert.Error(t, err, "%s cannot even decompress it", n.Name())
	}

	// A small change goes as a delta in the announcement, sealed too.
	v2 := editDoc(v1, 4<<10, `"pattern":"/delta-secret-xyz"`)
	origin.src.set(2, v2)
	require.NoError(t, origin.Announce(2))
	require.Eventually(t, func() bool { return peerA.hasRev(2) }, 5*time.Second, 10*time.Millisecond)
	assert.Equal(t, v2, peerA.got()[1].doc)
	assert.NotNil(t, heldDeltaOf(peerA).d, "it came as a delta")

	time.Sleep(time.Second)
	assert.Zero(t, len(other.got()), "the other service's node took nothing")
	assert.Zero(t, len(plainNode.got()), "the unsealed node took nothing")
}

// The delta an announcement carries is sealed: a node that only holds the
// cluster keyring reads nothing of the change.
func TestAnnouncedDeltaIsSealed(t *testing.T) {
	t.Parallel()
	n := startNode(t, "env-alone", time.Second, withEnvelope(keyEnvelope(t, 3)))
	v1 := testDoc(t, 1, 16<<10)
	v2 := editDoc(v1, 8<<10, `"pattern":"/delta-secret-xyz"`)
	n.src.set(1, v1)
	require.NoError(t, n.Announce(1))
	n.src.set(2, v2)
	require.NoError(t, n.Announce(2))
	require.NotNil(t, heldDeltaOf(n).d)
	assert.True(t, bytes.Contains(heldDeltaOf(n).d, []byte("delta-secret-xyz")), "the node keeps the delta in clear")
	// Alone, the node's queue still holds its announcements.
	msgs := n.broadcasts.GetBroadcasts(0, 64<<10)
	require.NotEmpty(t, msgs)
	var withDelta int
	for _, m := range msgs {
		kind, body, err := messageKind(m)
		require.NoError(t, err)
		require.Equal(t, kindAnnounce, kind)
		a, err := decodeAnnounce(body)
		require.NoError(t, err)
		if a.Delta != nil {
			withDelta++
			assert.False(t, bytes.Contains(a.Delta, []byte("delta-secret-xyz")), "the announced delta is sealed")
		}
	}
	assert.Equal(t, 1, withDelta)
}

// A sealed document altered on the way does not open: the node drops it,
// takes nothing from that peer, and asks no more of it for that revision.
func TestTamperedSealedDocumentIsRefused(t *testing.T) {
	t.Parallel()
	env := keyEnvelope(t, 4)
	origin := startNode(t, "env-t0", time.Second, withEnvelope(tamperer{env}))
	peer := startNode(t, "env-t1", 5*time.Second, withJoin(origin.Addr()), withEnvelope(env))
	waitMembers(t, []*tnode{origin, peer}, 2)
	origin.src.set(1, testDoc(t, 1, 8<<10))
	require.NoError(t, origin.Announce(1))
	require.Eventually(t, func() bool {
		peer.dis.mu.Lock()
		defer peer.dis.mu.Unlock()
		return peer.dis.refused[origin.Name()] == 1
	}, 5*time.Second, 10*time.Millisecond, "the peer refuses the tampered document")
	time.Sleep(500 * time.Millisecond)
	assert.Zero(t, len(peer.got()), "nothing taken")
}
