package composition

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPasswordsAreKeptAsArgon2idHashes(t *testing.T) {
	h, err := HashPassword("hunter2")
	require.NoError(t, err)
	assert.True(t, IsPasswordHash(h))
	assert.NotContains(t, h, "hunter2")
	assert.True(t, strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$"), h)
	ok, err := VerifyPassword(h, "hunter2")
	require.NoError(t, err)
	assert.True(t, ok)
	ok, err = VerifyPassword(h, "hunter3")
	require.NoError(t, err)
	assert.False(t, ok)

	h2, err := HashPassword("hunter2")
	require.NoError(t, err)
	assert.NotEqual(t, h, h2, "a fresh salt each time")

	for _, bad := range []string{"", "hunter2", "$argon2id$v=19$m=19456,t=2,p=1$!!$AAAA", "$argon2i$v=19$m=1,t=1,p=1$AAAA$AAAA",
		"$argon2id$v=19$m=99999999,t=2,p=1$AAAA$AAAA"} {
		_, err := VerifyPassword(bad, "x")
		assert.Error(t, err, bad)
	}
}

func TestAnImportedDocumentHasItsPlaintextPasswordsHashed(t *testing.T) {
	kept, err := HashPassword("already")
	require.NoError(t, err)
	d := &Document{Users: []*User{{Username: "a", Password: "plain"}, {Username: "b", Password: kept}, {Username: "c"}}}
	require.NoError(t, d.HashPasswords(context.Background(), nil))
	assert.True(t, IsPasswordHash(d.Users[0].Password))
	ok, _ := VerifyPassword(d.Users[0].Password, "plain")
	assert.True(t, ok)
	assert.Equal(t, kept, d.Users[1].Password, "a hash is kept as is")
	assert.Empty(t, d.Users[2].Password)
}

// A stored hash asking for more than a few times HashPassword's cost (one
// planted by an import: a gigabyte, 16 passes) is refused unverified, so
// that checking a password against it costs nothing.
func TestCostlyPasswordHashIsRefusedUnverified(t *testing.T) {
	h, err := HashPassword("secret")
	require.NoError(t, err)
	ok, err := VerifyPassword(h, "secret")
	require.NoError(t, err)
	assert.True(t, ok)
	parts := strings.Split(h, "$")
	for _, cost := range []string{"m=1048576,t=2,p=1", "m=19456,t=16,p=1", "m=19456,t=2,p=255"} {
		parts[3] = cost
		start := time.Now()
		_, err := VerifyPassword(strings.Join(parts, "$"), "secret")
		assert.Error(t, err, cost)
		assert.Less(t, time.Since(start), 100*time.Millisecond, "%s: refused before hashing", cost)
	}
}
