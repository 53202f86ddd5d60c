package agent

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/gossip"
	"github.com/portolan/portolan/registry"
)

// sealedUnder tells whether b opens under key.
func sealedUnder(t *testing.T, key, b []byte) bool {
	t.Helper()
	e, err := gossip.NewKeyEnvelope(key)
	require.NoError(t, err)
	_, err = e.Open(b)
	return err == nil
}

// heldViews stands for the agent's composition cache: the signed view it
// holds, replaced (new bytes) on every install.
type heldViews struct {
	mu   sync.Mutex
	rev  uint64
	view []byte
}

func (h *heldViews) hold(t *testing.T, rev uint64, audience string) {
	t.Helper()
	b, err := json.Marshal(registry.SignedView{Format: registry.ViewFormat, Revision: rev, Audience: audience, Document: json.RawMessage(`{}`)})
	require.NoError(t, err)
	h.mu.Lock()
	h.rev, h.view = rev, b
	h.mu.Unlock()
}

func (h *heldViews) Latest() (uint64, []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.rev, h.view
}

// current is the view held, which the tests seal a payload from.
func (h *heldViews) current() []byte {
	_, v := h.Latest()
	return v
}

var (
	keyA = bytes.Repeat([]byte{1}, 32)
	keyB = bytes.Repeat([]byte{2}, 32)
)

// An instance re-placed in another service at the same revision (labels
// changed across a restart, no composition change) still holds its old
// service's view: the new service's key must not seal it, whatever the
// revisions say. It seals with the key of the held view's audience, or
// sends nothing; it opens with the new placement's key at once, to take
// the new service's view from its new peers.
func TestViewKeySealsTheHeldViewWithItsAudiencesKeyOnly(t *testing.T) {
	plain := []byte("view")
	var h heldViews
	h.hold(t, 7, "a") // A's view at revision 7, from the cache

	// No key for A (none cached): B's key, from a placement at revision 7.
	k := viewKeyring{}
	changed, err := k.set("b", keyB)
	require.NoError(t, err)
	assert.True(t, changed)
	_, err = k.Seal(plain, h.current())
	require.Error(t, err, "A's view is not sealed with B's key")

	// A's key cached from before: A's view goes to A's agents only.
	k = viewKeyring{}
	_, err = k.set("a", keyA)
	require.NoError(t, err)
	_, err = k.set("b", keyB)
	require.NoError(t, err)
	s, err := k.Seal(plain, h.current())
	require.NoError(t, err)
	assert.True(t, sealedUnder(t, keyA, s))
	assert.False(t, sealedUnder(t, keyB, s))
	fromB, err := gossip.NewKeyEnvelope(keyB)
	require.NoError(t, err)
	b, err := fromB.Seal(plain, nil)
	require.NoError(t, err)
	got, err := k.Open(b)
	require.NoError(t, err, "opens the new service's views at once")
	assert.Equal(t, plain, got)

	// B's view installed: B's key.
	h.hold(t, 7, "b")
	s, err = k.Seal(plain, h.current())
	require.NoError(t, err)
	assert.True(t, sealedUnder(t, keyB, s))
	assert.False(t, sealedUnder(t, keyA, s))
}

// Gossip delivers A's view at revision 8 before the heartbeat brings the
// placement in B computed at revision 8: the agent still holds A's view,
// however new, and seals it with A's key.
func TestViewKeyNewerViewOfTheOldServiceKeepsItsKey(t *testing.T) {
	plain := []byte("view")
	var h heldViews
	h.hold(t, 7, "a")
	k := viewKeyring{}
	_, err := k.set("a", keyA)
	require.NoError(t, err)
	h.hold(t, 8, "a") // from a peer of A
	_, err = k.set("b", keyB)
	require.NoError(t, err)
	s, err := k.Seal(plain, h.current())
	require.NoError(t, err)
	assert.True(t, sealedUnder(t, keyA, s), "A's view of revision 8 is A's")

	changed, err := k.set("b", keyB)
	require.NoError(t, err)
	assert.False(t, changed, "the same key for the same service again")
	_, err = k.set("b", []byte("short"))
	assert.Error(t, err, "a key of the wrong size is refused and the others kept")
	s, err = k.Seal(plain, h.current())
	require.NoError(t, err)
	assert.True(t, sealedUnder(t, keyA, s))
}

// Until the agent knows a key it sends nothing: a cached view with no view
// key (an agent upgraded from before view keys, or the key's caching
// failed) is not served in clear while home is away. Only home saying it
// has none (an older home) lets views travel as they are; an agent without
// --home, which no home will ever tell, shares them as before.
func TestViewKeyUnknownSendsNothing(t *testing.T) {
	plain := []byte("view")
	var h heldViews
	h.hold(t, 3, "a")
	k := viewKeyring{}
	_, err := k.Seal(plain, h.current())
	require.ErrorIs(t, err, errNoViewKey)

	assert.True(t, k.none())
	out, err := k.Seal(plain, h.current())
	require.NoError(t, err)
	assert.Equal(t, plain, out, "home has no view keys: as it is")
	out, err = k.Open(plain)
	require.NoError(t, err)
	assert.Equal(t, plain, out)

	gossipOnly := viewKeyring{plainUntilKnown: true}
	out, err = gossipOnly.Seal(plain, h.current())
	require.NoError(t, err)
	assert.Equal(t, plain, out, "no home: as before")
}

// The agent ties home's key to the service of the placement it came with
// (its own service when the placement names none), keeps it with that
// service in the cache dir, and takes it back at start; a registration
// reply without a key drops them all. A key file without services (an
// older agent's) is not trusted to say whose key it is.
func TestViewKeyFromHomeIsTiedToThePlacementsService(t *testing.T) {
	dir := t.TempDir()
	var h heldViews
	h.hold(t, 5, "news")
	newAgent := func() *Agent {
		a := &Agent{cfg: Config{CacheDir: dir, Home: "https://home.invalid"}, log: zerolog.Nop(), reg: registry.Registration{Service: "news"}}
		a.comp = newCompositionCache("")
		return a
	}
	a := newAgent()
	a.loadViewKey()
	a.viewKeyFromHome(base64.StdEncoding.EncodeToString(keyA), &registry.Placement{Revision: 5}, true)
	s, err := a.viewKey.Seal([]byte("view"), h.current())
	require.NoError(t, err)
	assert.True(t, sealedUnder(t, keyA, s), "no service in the placement: the instance's own")
	a.viewKeyFromHome(base64.StdEncoding.EncodeToString(keyB), &registry.Placement{Service: "weather", Revision: 6}, false)

	b := newAgent()
	b.loadViewKey()
	s, err = b.viewKey.Seal([]byte("view"), h.current())
	require.NoError(t, err)
	assert.True(t, sealedUnder(t, keyA, s), "news's key, from the cache dir")
	fromWeather, err := gossip.NewKeyEnvelope(keyB)
	require.NoError(t, err)
	w, err := fromWeather.Seal([]byte("weather view"), nil)
	require.NoError(t, err)
	_, err = b.viewKey.Open(w)
	require.NoError(t, err, "the newest placement's key opens")

	b.viewKeyFromHome("", &registry.Placement{Revision: 7}, true)
	out, err := b.viewKey.Seal([]byte("view"), h.current())
	require.NoError(t, err)
	assert.Equal(t, "view", string(out), "home said it has none")
	assert.NoFileExists(t, filepath.Join(dir, ViewKeyFile))

	require.NoError(t, os.WriteFile(filepath.Join(dir, ViewKeyFile), []byte(base64.StdEncoding.EncodeToString(keyA)+"\n"), 0o600))
	c := newAgent()
	c.loadViewKey()
	_, err = c.viewKey.Seal([]byte("view"), h.current())
	require.ErrorIs(t, err, errNoViewKey, "a key of unknown service is not used")
}
