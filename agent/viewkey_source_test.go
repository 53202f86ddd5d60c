package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/gossip"
	"github.com/portolan/portolan/registry"
)

// viewOf is a signed view's encoding for audience at rev.
func viewOf(t *testing.T, rev uint64, audience string) []byte {
	t.Helper()
	b, err := json.Marshal(registry.SignedView{Format: registry.ViewFormat, Revision: rev, Audience: audience,
		Document: json.RawMessage(`{"secret_token":"secret-of-` + audience + `"}`)})
	require.NoError(t, err)
	return b
}

// Gossip chose a payload made from service A's view, and the agent
// installed B's view before the payload was sealed: Seal goes by the view
// the payload was made from, so A's key seals it, or nothing does; B's key
// never does. The audience parsed once per view follows each view.
func TestViewKeySealsWithThePayloadsViewNotTheOneHeldNow(t *testing.T) {
	payload := []byte("gzip of A's view")
	viewA, viewB := viewOf(t, 7, "a"), viewOf(t, 7, "b")
	var h heldViews
	h.hold(t, 7, "b") // installed meanwhile

	k := viewKeyring{}
	_, err := k.set("a", keyA)
	require.NoError(t, err)
	_, err = k.set("b", keyB)
	require.NoError(t, err)
	s, err := k.Seal(payload, viewA)
	require.NoError(t, err)
	assert.True(t, sealedUnder(t, keyA, s), "A's payload, A's key")
	assert.False(t, sealedUnder(t, keyB, s), "B's agents cannot open A's payload")

	for i, v := range [][]byte{viewB, viewA, viewB, h.current(), viewA} {
		s, err := k.Seal(payload, v)
		require.NoError(t, err)
		var aud struct{ Audience string }
		require.NoError(t, json.Unmarshal(v, &aud))
		assert.Equal(t, aud.Audience == "a", sealedUnder(t, keyA, s), "seal %d", i)
		assert.Equal(t, aud.Audience == "b", sealedUnder(t, keyB, s), "seal %d", i)
	}
	_, err = k.Seal(payload, viewA[:len(viewA)-1])
	require.Error(t, err, "the same bytes' start, another length: parsed again, and not a view")

	onlyB := viewKeyring{}
	_, err = onlyB.set("b", keyB)
	require.NoError(t, err)
	_, err = onlyB.Seal(payload, viewA)
	require.Error(t, err, "no key for A: A's payload is not sent")
	_, err = onlyB.Seal(payload, nil)
	require.Error(t, err, "a payload of no view is not sent")
}

// installingEnvelope is the agent's keyring with the race made certain: the
// first Seal runs just after the agent installed another view.
type installingEnvelope struct {
	*viewKeyring
	once    sync.Once
	install func()
}

func (e *installingEnvelope) Seal(payload, view []byte) ([]byte, error) {
	e.once.Do(e.install)
	return e.viewKeyring.Seal(payload, view)
}

// startViewPeer starts a gossip node of service that seals and opens under
// key and keeps the views it takes.
func startViewPeer(t *testing.T, name, service string, env gossip.Envelope, src gossip.Source, join string) (*gossip.Node, func() [][]byte) {
	t.Helper()
	var mu sync.Mutex
	var got [][]byte
	cfg := gossip.Config{
		Name: name, Bind: "127.0.0.1:0", Insecure: true, Cluster: t.Name(), Logger: zerolog.Nop(),
		Meta:     gossip.Meta{Role: gossip.RoleAgent, Service: service, InstanceID: name},
		Envelope: env, Source: src,
		OnComposition: func(_ uint64, doc []byte) {
			mu.Lock()
			got = append(got, bytes.Clone(doc))
			mu.Unlock()
		},
	}
	if join != "" {
		cfg.Join = []string{join}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n, err := gossip.Start(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = n.Shutdown() })
	return n, func() [][]byte {
		mu.Lock()
		defer mu.Unlock()
		return append([][]byte(nil), got...)
	}
}

// An agent re-placed from service A to B, holding A's view and both keys,
// announces A's view; a peer asks for it, and the agent installs B's view
// (same revision) between gossip choosing A's view and sealing it. A's
// agent gets A's view; B's agent never does, from this agent or any.
func TestViewKeyGossipNeverSealsAChosenViewWithTheNextOnesKey(t *testing.T) {
	viewA, viewB := viewOf(t, 1, "a"), viewOf(t, 1, "b")
	var h heldViews
	h.mu.Lock()
	h.rev, h.view = 1, viewA
	h.mu.Unlock()
	k := &viewKeyring{}
	_, err := k.set("a", keyA)
	require.NoError(t, err)
	_, err = k.set("b", keyB)
	require.NoError(t, err)
	env := &installingEnvelope{viewKeyring: k, install: func() {
		h.mu.Lock()
		h.view = viewB
		h.mu.Unlock()
	}}
	origin, _ := startViewPeer(t, "vk-origin", "b", env, &h, "")
	envA, err := gossip.NewKeyEnvelope(keyA)
	require.NoError(t, err)
	envB, err := gossip.NewKeyEnvelope(keyB)
	require.NoError(t, err)
	_, gotA := startViewPeer(t, "vk-peer-a", "a", envA, nil, origin.Addr())
	_, gotB := startViewPeer(t, "vk-peer-b", "b", envB, nil, origin.Addr())
	require.Eventually(t, func() bool { return len(origin.Members()) == 3 }, 10*time.Second, 20*time.Millisecond)

	require.NoError(t, origin.Announce(1))
	require.Eventually(t, func() bool { return len(gotA()) > 0 }, 10*time.Second, 20*time.Millisecond, "A's agent takes A's view")
	assert.Equal(t, viewA, gotA()[0])
	assert.Equal(t, viewB, h.current(), "B's view was installed while gossip sealed")
	time.Sleep(time.Second)
	for _, v := range gotB() {
		assert.False(t, bytes.Contains(v, []byte("secret-of-a")), "B's agent read A's view")
	}
	assert.Empty(t, gotB(), "B's agent took nothing: the only view at revision 1 on gossip is A's")
}

// No gossip delta may lead from one service's view to another's (it would
// tell the second service's agents the first view's length, digest and
// layout): SameKey holds for views of one audience only, and for any two
// while views travel unsealed.
func TestViewKeySameKeyOnlyForOneAudience(t *testing.T) {
	a7, a8, b8 := viewOf(t, 7, "a"), viewOf(t, 8, "a"), viewOf(t, 8, "b")
	k := viewKeyring{}
	_, err := k.set("b", keyB)
	require.NoError(t, err)
	assert.True(t, k.SameKey(a7, a8))
	assert.False(t, k.SameKey(a7, b8))
	assert.False(t, k.SameKey(a7, []byte("not a view")), "unreadable: no delta")

	unsealed := viewKeyring{plainUntilKnown: true}
	assert.True(t, unsealed.SameKey(a7, b8), "nothing sealed: the views travel as they are anyway")
}
