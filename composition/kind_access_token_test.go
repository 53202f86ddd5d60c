package composition

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAccessTokenValidation(t *testing.T) {
	h := newTestHead()
	ok := &AccessToken{Name: "CI", Scopes: []string{ScopeStats, ScopeAccountManagement}, Permission: PermissionRO, Digest: TokenDigest("one")}
	mustUpdate(t, h, func(tx *Tx) error { return tx.Create(ok) })
	for _, tc := range []struct {
		tok   AccessToken
		field string
	}{
		{AccessToken{Scopes: []string{ScopeStats}, Permission: PermissionRO}, "name"},
		{AccessToken{Name: "x", Scopes: []string{ScopeStats}, Permission: "admin"}, "permission"},
		{AccessToken{Name: "x", Permission: PermissionRO}, "scopes"},
		{AccessToken{Name: "x", Scopes: []string{"root"}, Permission: PermissionRO}, "scopes"},
		{AccessToken{Name: "x", Scopes: []string{ScopeStats, ScopeStats}, Permission: PermissionRO}, "scopes"},
		{AccessToken{Name: "x", Scopes: []string{ScopeStats}, Permission: PermissionRO, Digest: "abc"}, "digest"},
		{AccessToken{Name: "x", Scopes: []string{ScopeStats}, Permission: PermissionRO, Digest: TokenDigest("one")}, "digest"},
	} {
		tok := tc.tok
		_, err := h.Update(t.Context(), func(tx *Tx) error { return tx.Create(&tok) })
		var v *ValidationError
		require.ErrorAs(t, err, &v, "%+v", tc.tok)
		assert.Contains(t, v.Fields, tc.field, "%+v", tc.tok)
	}
	// An update keeps digest, scopes and permission: 3scale has no token update.
	upd := *ok
	upd.Name, upd.Digest, upd.Permission, upd.Scopes = "renamed", TokenDigest("two"), PermissionRW, []string{ScopeCMS}
	mustUpdate(t, h, func(tx *Tx) error { return tx.Update(&upd) })
	got, _ := h.Snapshot().AccessTokens.Get(ok.ID)
	assert.Equal(t, "renamed", got.Name)
	assert.Equal(t, TokenDigest("one"), got.Digest)
	assert.Equal(t, PermissionRO, got.Permission)

	doc := Export(h.Snapshot(), false, testNow)
	require.Len(t, doc.AccessTokens, 1)
	assert.Empty(t, doc.AccessTokens[0].Digest, "an export without secrets leaves the digest out")
}
