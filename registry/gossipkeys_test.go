package registry

import (
	"sync"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The keyring goes out at registration and then once per change, to each
// instance on its own next heartbeat.
func TestGossipKeysAtRegistrationAndOncePerRotation(t *testing.T) {
	var mu sync.Mutex
	keys, version := []string{"k1"}, uint64(1)
	r, err := New(Config{Store: newMemStore(), Logger: zerolog.Nop(), GossipKeys: func() ([]string, uint64) {
		mu.Lock()
		defer mu.Unlock()
		return keys, version
	}})
	require.NoError(t, err)

	a, err := r.Register("a", reg("news"))
	require.NoError(t, err)
	assert.Equal(t, []string{"k1"}, a.GossipKeys)
	hb, err := r.Heartbeat("a", Heartbeat{Status: StatusPassing})
	require.NoError(t, err)
	assert.Empty(t, hb.GossipKeys, "nothing changed since registration")

	mu.Lock()
	keys, version = []string{"k1", "k2"}, 2
	mu.Unlock()
	b, err := r.Register("b", reg("news"))
	require.NoError(t, err)
	assert.Equal(t, []string{"k1", "k2"}, b.GossipKeys)
	for _, id := range []string{"a", "b"} {
		hb, err := r.Heartbeat(id, Heartbeat{Status: StatusPassing})
		require.NoError(t, err)
		if id == "a" {
			assert.Equal(t, []string{"k1", "k2"}, hb.GossipKeys, "a hears the rotation on its next heartbeat")
		} else {
			assert.Empty(t, hb.GossipKeys, "b registered with it")
		}
		hb, err = r.Heartbeat(id, Heartbeat{Status: StatusPassing})
		require.NoError(t, err)
		assert.Empty(t, hb.GossipKeys, "%s hears it once", id)
	}

	// Without a keyring (home runs gossip insecure), nothing is handed out.
	f := newFixture(t)
	c, err := f.r.Register("c", reg("news"))
	require.NoError(t, err)
	assert.Nil(t, c.GossipKeys)
}

// testKeyring is a keyring the test moves by hand, as home's rotation does.
type testKeyring struct {
	mu      sync.Mutex
	keys    []string
	version uint64
}

func (k *testKeyring) current() ([]string, uint64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.keys, k.version
}

func (k *testKeyring) set(keys []string, version uint64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.keys, k.version = keys, version
}

// A heartbeat reply carrying a rotation step may be lost (a cut
// connection, the agent's timeout): an agent that names the version it
// holds gets the keyring again on every heartbeat until it names the new
// one, not once.
func TestGossipKeysHandedAgainUntilTheAgentNamesTheirVersion(t *testing.T) {
	k := &testKeyring{keys: []string{"k1"}, version: 1}
	r, err := New(Config{Store: newMemStore(), Logger: zerolog.Nop(), GossipKeys: k.current})
	require.NoError(t, err)
	a, err := r.Register("a", reg("news"))
	require.NoError(t, err)
	assert.Equal(t, []string{"k1"}, a.GossipKeys)
	assert.Equal(t, uint64(1), a.GossipKeysVersion, "the registration names the keyring's version")
	hb, err := r.Heartbeat("a", Heartbeat{Status: StatusPassing, GossipKeysVersion: 1})
	require.NoError(t, err)
	assert.Empty(t, hb.GossipKeys, "the agent holds the keyring")

	k.set([]string{"k1", "k2"}, 2)
	for i := range 3 { // the replies are lost: the agent still names 1
		hb, err = r.Heartbeat("a", Heartbeat{Status: StatusPassing, GossipKeysVersion: 1})
		require.NoError(t, err)
		assert.Equal(t, []string{"k1", "k2"}, hb.GossipKeys, "heartbeat %d after the rotation: the step again", i+1)
		assert.Equal(t, uint64(2), hb.GossipKeysVersion)
	}
	hb, err = r.Heartbeat("a", Heartbeat{Status: StatusPassing, GossipKeysVersion: 2})
	require.NoError(t, err)
	assert.Empty(t, hb.GossipKeys, "acknowledged: nothing more to hand")
	assert.Zero(t, hb.GossipKeysVersion)
}

// GossipKeysBehind counts the live instances that name the version they
// hold and do not hold the one asked about: what a rotation waits for. An
// agent that names none (one that predates the field) is not waited for,
// and still gets each version once, as before.
func TestGossipKeysBehindCountsInstancesThatHaveNotAcknowledged(t *testing.T) {
	k := &testKeyring{keys: []string{"k1"}, version: 1}
	r, err := New(Config{Store: newMemStore(), Logger: zerolog.Nop(), GossipKeys: k.current})
	require.NoError(t, err)
	for _, id := range []string{"a", "b", "old"} {
		_, err := r.Register(id, reg("news"))
		require.NoError(t, err)
	}
	assert.Zero(t, r.GossipKeysBehind(1), "registered with version 1: all hold it")
	assert.Equal(t, 3, r.GossipKeysBehind(2), "until they say otherwise, each holds what registration gave it")
	_, err = r.Heartbeat("old", Heartbeat{Status: StatusPassing})
	require.NoError(t, err)
	assert.Equal(t, 2, r.GossipKeysBehind(2), "an agent that names no version is not waited for")

	k.set([]string{"k1", "k2"}, 2)
	hb, err := r.Heartbeat("a", Heartbeat{Status: StatusPassing, GossipKeysVersion: 1})
	require.NoError(t, err)
	require.Equal(t, uint64(2), hb.GossipKeysVersion)
	assert.Equal(t, 2, r.GossipKeysBehind(2), "handing the step is not holding it")
	_, err = r.Heartbeat("a", Heartbeat{Status: StatusPassing, GossipKeysVersion: 2})
	require.NoError(t, err)
	assert.Equal(t, 1, r.GossipKeysBehind(2), "a acknowledged")
	require.NoError(t, r.Deregister("b"))
	assert.Zero(t, r.GossipKeysBehind(2), "b is gone: nothing to wait for")
	_, err = r.Register("a", reg("news"))
	require.NoError(t, err)
	assert.Zero(t, r.GossipKeysBehind(2), "a registered again, with version 2")

	hb, err = r.Heartbeat("old", Heartbeat{Status: StatusPassing})
	require.NoError(t, err)
	assert.Equal(t, []string{"k1", "k2"}, hb.GossipKeys, "the older agent hears the rotation once")
	hb, err = r.Heartbeat("old", Heartbeat{Status: StatusPassing})
	require.NoError(t, err)
	assert.Empty(t, hb.GossipKeys)
}

// An instance home holds for dead (gossip declared its node dead, as a TTL
// expiry would) is not waited for by a rotation: it acknowledges nothing
// while dead. Its next heartbeat brings it back, and counts it again.
func TestGossipKeysBehindLeavesOutAnInstanceGossipDeclaredDead(t *testing.T) {
	k := &testKeyring{keys: []string{"k1"}, version: 1}
	r, err := New(Config{Store: newMemStore(), Logger: zerolog.Nop(), GossipKeys: k.current})
	require.NoError(t, err)
	_, err = r.Register("a", reg("news"))
	require.NoError(t, err)
	_, err = r.Heartbeat("a", Heartbeat{Status: StatusPassing, GossipKeysVersion: 1})
	require.NoError(t, err)
	require.Equal(t, 1, r.GossipKeysBehind(2))

	require.True(t, r.Fail("a", "gossip: node dead"))
	assert.Zero(t, r.GossipKeysBehind(2), "dead: not waited for")
	_, err = r.Heartbeat("a", Heartbeat{Status: StatusPassing, GossipKeysVersion: 1})
	require.NoError(t, err)
	assert.Equal(t, 1, r.GossipKeysBehind(2), "alive again: waited for again")
}
