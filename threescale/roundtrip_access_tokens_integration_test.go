package threescale_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/3scale/3scale-porta-go-client/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// accessTokenJSON is porta's AccessToken representation.
type accessTokenJSON struct {
	ID         int64    `json:"id"`
	Name       string   `json:"name"`
	Scopes     []string `json:"scopes"`
	Permission string   `json:"permission"`
	ExpiresAt  string   `json:"expires_at"`
	Value      string   `json:"value"`
}

// clientWithToken is the official client on co authenticated by token.
func clientWithToken(t *testing.T, co *testenv.Coordinator, token string) *client.ThreeScaleClient {
	t.Helper()
	portal, err := client.NewAdminPortalFromStr(co.URL)
	require.NoError(t, err)
	return client.NewThreeScale(portal, token, &http.Client{Timeout: 30 * time.Second})
}

// Personal access tokens on a running coordinator: create, use, read (by
// id and by value), list, delete, and the deleted token opens nothing.
func TestRoundTripPersonalAccessTokens(t *testing.T) {
	co := testenv.StartCoordinator(t)
	const base = "/admin/api/personal/access_tokens"
	expires := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)

	var created map[string]accessTokenJSON
	decodeCall(t, co, http.MethodPost, base+".json", url.Values{
		"name": {"Dashboard"}, "permission": {"ro"}, "scopes[]": {"account_management", "stats"},
		"expires_at": {expires.Format(time.RFC3339)},
	}, http.StatusCreated, &created)
	tok := created["access_token"]
	require.NotZero(t, tok.ID)
	require.Len(t, tok.Value, 64, "the value, once: 256 bits, hex")
	assert.Equal(t, "Dashboard", tok.Name)
	assert.Equal(t, "ro", tok.Permission)
	assert.Equal(t, []string{"account_management", "stats"}, tok.Scopes)
	assert.True(t, expires.Equal(parseTime(t, tok.ExpiresAt)), "expires_at %s", tok.ExpiresAt)

	// It reads and cannot write.
	ro := clientWithToken(t, co, tok.Value)
	_, err := ro.ListProducts()
	require.NoError(t, err)
	_, err = ro.CreateProduct("Nope", nil)
	apiErr(t, err, http.StatusForbidden)

	// Read by id and by value: the same token, its value never again.
	want := tok
	want.Value = ""
	for _, ref := range []string{s64(tok.ID), tok.Value} {
		var read map[string]accessTokenJSON
		decodeCall(t, co, http.MethodGet, base+"/"+ref+".json", nil, http.StatusOK, &read)
		assert.Equal(t, want, read["access_token"])
	}
	decodeCall(t, co, http.MethodPost, base+".json", url.Values{
		"name": {"Deployer"}, "permission": {"rw"}, "scopes[]": {"account_management"},
	}, http.StatusCreated, &created)
	var list struct {
		Tokens []map[string]accessTokenJSON `json:"access_tokens"`
	}
	decodeCall(t, co, http.MethodGet, base+".json", nil, http.StatusOK, &list)
	require.Len(t, list.Tokens, 2)
	decodeCall(t, co, http.MethodGet, base+".json", url.Values{"name": {"dash"}}, http.StatusOK, &list)
	require.Len(t, list.Tokens, 1)
	assert.Equal(t, want, list.Tokens[0]["access_token"])

	// Deleted by value: gone, and it opens nothing.
	status, body := rawCall(t, co, http.MethodDelete, base+"/"+tok.Value+".json", "", "")
	require.Equal(t, http.StatusOK, status, "%s", body)
	status, _ = rawCall(t, co, http.MethodGet, base+"/"+s64(tok.ID)+".json", "", "")
	assert.Equal(t, http.StatusNotFound, status)
	_, err = ro.ListProducts()
	apiErr(t, err, http.StatusForbidden)
}

// 3scale's deprecated per-user create: a provider user's token, its
// parameters wrapped in token[...] or bare; it works, is read and listed as
// any other, and goes with its user.
func TestRoundTripUserAccessTokens(t *testing.T) {
	co := testenv.StartCoordinator(t)
	user := providerUser(t, co, http.MethodPost, "/admin/api/users.json",
		url.Values{"username": {"ops"}, "email": {"ops@example.com"}}, http.StatusCreated).User
	// An admin, whose token has every right (a member's: permissions_integration_test.go).
	providerUser(t, co, http.MethodPut, "/admin/api/users/"+s64(user.ID)+"/admin.json", nil, http.StatusOK)
	path := "/admin/api/users/" + s64(user.ID) + "/access_tokens.json"

	var created map[string]accessTokenJSON
	decodeCall(t, co, http.MethodPost, path, url.Values{
		"token[name]": {"Ops CI"}, "token[permission]": {"rw"}, "token[scopes][]": {"account_management"},
	}, http.StatusCreated, &created)
	tok := created["access_token"]
	require.NotZero(t, tok.ID)
	require.Len(t, tok.Value, 64)
	assert.Equal(t, "Ops CI", tok.Name)
	assert.Equal(t, "rw", tok.Permission)
	assert.Equal(t, []string{"account_management"}, tok.Scopes)
	var bare map[string]accessTokenJSON
	decodeCall(t, co, http.MethodPost, path, url.Values{
		"name": {"Ops stats"}, "permission": {"ro"}, "scopes[]": {"stats"},
	}, http.StatusCreated, &bare)
	assert.Equal(t, []string{"stats"}, bare["access_token"].Scopes)

	rw := clientWithToken(t, co, tok.Value)
	p, err := rw.CreateProduct("Made by ops", nil)
	require.NoError(t, err)
	assert.Equal(t, "Made by ops", p.Element.Name)

	var read map[string]accessTokenJSON
	decodeCall(t, co, http.MethodGet, "/admin/api/personal/access_tokens/"+s64(tok.ID)+".json", nil, http.StatusOK, &read)
	want := tok
	want.Value = ""
	assert.Equal(t, want, read["access_token"])

	// Only a provider user has tokens made this way.
	status, _ := formCall(t, co, http.MethodPost, "/admin/api/users/999999/access_tokens.json",
		url.Values{"name": {"x"}, "permission": {"rw"}, "scopes[]": {"stats"}})
	assert.Equal(t, http.StatusNotFound, status)
	dev := acSignup(t, co.Client(t), "Buyer", "buyer")
	devUsers := acUsers(t, co.Client(t), *dev.ID, nil)
	require.NotEmpty(t, devUsers)
	status, _ = formCall(t, co, http.MethodPost, "/admin/api/users/"+s64(*devUsers[0].ID)+"/access_tokens.json",
		url.Values{"name": {"x"}, "permission": {"rw"}, "scopes[]": {"stats"}})
	assert.Equal(t, http.StatusNotFound, status, "a developer's user is not the provider's")

	// The user's deletion takes its tokens.
	status, body := rawCall(t, co, http.MethodDelete, "/admin/api/users/"+s64(user.ID)+".json", "", "")
	require.Equal(t, http.StatusOK, status, "%s", body)
	status, _ = rawCall(t, co, http.MethodGet, "/admin/api/personal/access_tokens/"+s64(tok.ID)+".json", "", "")
	assert.Equal(t, http.StatusNotFound, status)
	var list struct {
		Tokens []map[string]accessTokenJSON `json:"access_tokens"`
	}
	decodeCall(t, co, http.MethodGet, "/admin/api/personal/access_tokens.json", nil, http.StatusOK, &list)
	assert.Empty(t, list.Tokens)
	_, err = rw.ListProducts()
	apiErr(t, err, http.StatusForbidden)
}
