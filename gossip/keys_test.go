package gossip

import (
	"encoding/base64"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseKey(t *testing.T) {
	for _, n := range []int{16, 24, 32} {
		raw := key(byte(n), n)
		k, err := ParseKey(" " + base64.StdEncoding.EncodeToString(raw) + "\n")
		require.NoError(t, err)
		assert.Equal(t, raw, k)
		k, err = ParseKey(base64.RawStdEncoding.EncodeToString(raw))
		require.NoError(t, err, "padding is optional")
		assert.Equal(t, raw, k)
	}
	for _, n := range []int{1, 15, 20, 31, 33, 64} {
		_, err := ParseKey(base64.StdEncoding.EncodeToString(key(1, n)))
		require.Error(t, err)
		assert.Contains(t, err.Error(), fmt.Sprintf("gossip key is %d bytes", n)+"; AES-GCM needs 16, 24 or 32 bytes")
	}
	_, err := ParseKey("not base64!")
	assert.ErrorContains(t, err, "not valid base64")
	_, err = ParseKey("")
	assert.ErrorContains(t, err, "empty")
}

func TestConfigKeysAreChecked(t *testing.T) {
	_, err := Start(t.Context(), Config{Name: "k", Bind: "127.0.0.1:0", Keys: [][]byte{key(1, 32), key(2, 20)}, Logger: testLogger()})
	assert.ErrorContains(t, err, "key 2 of 2: gossip key is 20 bytes")
}
