package coordinator

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// An imported document's plaintext passwords are hashed in the slots
// applies' are: its null entries and hashes passed by, and none hashed
// while every slot is taken by others and its client goes away.
func TestImportPasswordsAreHashedInTheApplySlots(t *testing.T) {
	h := newPasswordHasher()
	hashed := 0
	h.hashFn = func(password string) (string, error) {
		hashed++
		return composition.HashPassword(password)
	}
	kept, err := composition.HashPassword("old")
	require.NoError(t, err)
	doc := &composition.Document{Users: []*composition.User{{Username: "a", Password: "pass-a"}, nil, {Username: "b", Password: kept}, {Username: "c"}}}
	require.NoError(t, h.hashDocument(context.Background(), doc))
	assert.True(t, composition.IsPasswordHash(doc.Users[0].Password))
	assert.Equal(t, kept, doc.Users[2].Password)
	assert.Empty(t, doc.Users[3].Password)
	assert.Equal(t, 1, hashed)

	for range cap(h.slots) {
		h.slots <- struct{}{} // other applies hashing
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	doc = &composition.Document{Users: []*composition.User{{Username: "a", Password: "pass-a"}}}
	require.ErrorIs(t, h.hashDocument(ctx, doc), context.Canceled)
	assert.Equal(t, "pass-a", doc.Users[0].Password)
	assert.Equal(t, 1, hashed, "nothing hashed without a slot")
}
