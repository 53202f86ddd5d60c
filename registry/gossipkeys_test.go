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
