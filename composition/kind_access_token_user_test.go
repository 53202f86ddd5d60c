package composition

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A token made for a provider user needs that user, goes with it, and an
// import ties it to the user's new id.
func TestAccessTokenOfAProviderUser(t *testing.T) {
	h := newTestHead()
	ops := &User{AccountID: ProviderAccountID, Username: "ops", Email: "ops@provider.example"}
	acme := &Account{OrgName: "ACME"}
	mustUpdate(t, h, func(tx *Tx) error {
		require.NoError(t, tx.Create(acme))
		return tx.Create(ops)
	})
	dev := &User{AccountID: acme.ID, Username: "dev", Email: "dev@acme.example"}
	mustUpdate(t, h, func(tx *Tx) error { return tx.Create(dev) })

	for _, userID := range []int64{dev.ID, 999999} {
		_, err := h.Update(t.Context(), func(tx *Tx) error {
			return tx.Create(&AccessToken{Name: "x", Scopes: []string{ScopeStats}, Permission: PermissionRO, UserID: userID})
		})
		var nf *NotFoundError
		require.ErrorAs(t, err, &nf, "user %d is no provider user", userID)
	}

	tok := &AccessToken{Name: "Ops CI", Scopes: []string{ScopeStats}, Permission: PermissionRO, Digest: TokenDigest("ops"), UserID: ops.ID}
	mustUpdate(t, h, func(tx *Tx) error { return tx.Create(tok) })
	personal := &AccessToken{Name: "Mine", Scopes: []string{ScopeStats}, Permission: PermissionRO, Digest: TokenDigest("mine")}
	mustUpdate(t, h, func(tx *Tx) error { return tx.Create(personal) })

	// An update keeps the owner.
	upd := *tok
	upd.Name, upd.UserID = "renamed", 0
	mustUpdate(t, h, func(tx *Tx) error { return tx.Update(&upd) })
	got, _ := h.Snapshot().AccessTokens.Get(tok.ID)
	assert.Equal(t, ops.ID, got.UserID)

	tx := NewTx(New(), testNow)
	require.NoError(t, tx.Create(&User{AccountID: ProviderAccountID, Username: "first", Email: "first@provider.example"}))
	stats, err := Import(tx, Export(h.Snapshot(), true, testNow))
	require.NoError(t, err)
	imported, ok := tx.View().AccessTokens.Get(stats.IDs[tok.ID])
	require.True(t, ok)
	assert.Equal(t, stats.IDs[ops.ID], imported.UserID)
	assert.NotEqual(t, ops.ID, imported.UserID, "the import gave the user another id")

	mustUpdate(t, h, func(tx *Tx) error { return tx.Delete(KindUser, ops.ID) })
	_, ok = h.Snapshot().AccessTokens.Get(tok.ID)
	assert.False(t, ok, "the user's token went with it")
	_, ok = h.Snapshot().AccessTokens.Get(personal.ID)
	assert.True(t, ok, "a personal token stays")
}
