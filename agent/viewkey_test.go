package agent

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/gossip"
)

// sealedUnder tells whether b opens under key.
func sealedUnder(t *testing.T, key, b []byte) bool {
	t.Helper()
	e, err := gossip.NewKeyEnvelope(key)
	require.NoError(t, err)
	_, err = e.Open(b)
	return err == nil
}

// Moved to another service, the agent takes the new service's view with
// the new key at once but seals with the old one until it holds a view of
// the new placement's revision: what it serves before then is the old
// service's view, for the old service's agents only.
func TestViewKeyringSealsWithTheNewKeyOnceItHoldsTheNewView(t *testing.T) {
	var k viewKeyring
	plain := []byte("view")
	out, err := k.Seal(plain)
	require.NoError(t, err)
	assert.Equal(t, plain, out, "no key (older home): as it is")

	oldKey, newKey := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	held := uint64(3)
	changed, err := k.set(oldKey, 0, func() uint64 { return held })
	require.NoError(t, err)
	assert.True(t, changed)
	changed, err = k.set(oldKey, 0, func() uint64 { return held })
	require.NoError(t, err)
	assert.False(t, changed, "the same key again")

	changed, err = k.set(newKey, 5, func() uint64 { return held })
	require.NoError(t, err)
	assert.True(t, changed)
	fromNew, err := gossip.NewKeyEnvelope(newKey)
	require.NoError(t, err)
	b, err := fromNew.Seal(plain)
	require.NoError(t, err)
	got, err := k.Open(b)
	require.NoError(t, err, "opens the new service's views at once")
	assert.Equal(t, plain, got)

	for _, rev := range []uint64{3, 4, 5} {
		k.installed(rev)
		s, err := k.Seal(plain)
		require.NoError(t, err)
		if rev < 5 {
			assert.True(t, sealedUnder(t, oldKey, s), "holding revision %d, older than the placement: the old key", rev)
			continue
		}
		assert.True(t, sealedUnder(t, newKey, s), "holding the new view: the new key")
		assert.False(t, sealedUnder(t, oldKey, s))
	}

	// Already holding the new placement's view when its key comes.
	var k2 viewKeyring
	_, err = k2.set(oldKey, 0, func() uint64 { return 0 })
	require.NoError(t, err)
	_, err = k2.set(newKey, 5, func() uint64 { return 7 })
	require.NoError(t, err)
	s, err := k2.Seal(plain)
	require.NoError(t, err)
	assert.True(t, sealedUnder(t, newKey, s))

	_, err = k2.set([]byte("short"), 9, func() uint64 { return 0 })
	assert.Error(t, err, "a key of the wrong size is refused and the old one kept")
	s, err = k2.Seal(plain)
	require.NoError(t, err)
	assert.True(t, sealedUnder(t, newKey, s))
}
