package threescale_test

import (
	"encoding/xml"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// The developer portal's providers: create, list (JSON and XML), read,
// update, each read back; the admin portal's are not among them.
func TestRoundTripDeveloperPortalAuthProviders(t *testing.T) {
	co := testenv.StartCoordinator(t)
	const base = "/admin/api/authentication_providers"
	var list struct {
		Providers []map[string]authProviderJSON `json:"authentication_providers"`
	}
	decodeCall(t, co, http.MethodGet, base+".json", nil, http.StatusOK, &list)
	assert.Empty(t, list.Providers)

	var created map[string]authProviderJSON
	decodeCall(t, co, http.MethodPost, base+".json", url.Values{
		"kind": {"github"}, "client_id": {"gh-id"}, "client_secret": {"gh-secret"},
	}, http.StatusCreated, &created)
	gh := created["authentication_provider"]
	require.NotZero(t, gh.ID)
	assert.Equal(t, "github", gh.Kind)
	assert.Equal(t, "developer", gh.AccountType)
	decodeCall(t, co, http.MethodPost, "/admin/api/account/authentication_providers.json", url.Values{
		"kind": {"keycloak"}, "client_id": {"kc"}, "client_secret": {"kcs"}, "site": {"https://sso.example/auth/realms/r"},
	}, http.StatusCreated, &created)

	decodeCall(t, co, http.MethodGet, base+".json", nil, http.StatusOK, &list)
	require.Len(t, list.Providers, 1, "the admin portal's provider is not listed")
	assert.Equal(t, gh, list.Providers[0]["authentication_provider"])

	var updated map[string]authProviderJSON
	decodeCall(t, co, http.MethodPut, base+"/"+s64(gh.ID)+".json", url.Values{
		"client_secret": {"rotated"}, "published": {"true"},
	}, http.StatusOK, &updated)
	assert.Equal(t, "rotated", updated["authentication_provider"].ClientSecret)
	assert.True(t, updated["authentication_provider"].Published)
	assert.Equal(t, "gh-id", updated["authentication_provider"].ClientID)

	var read map[string]authProviderJSON
	decodeCall(t, co, http.MethodGet, base+"/"+s64(gh.ID)+".json", nil, http.StatusOK, &read)
	assert.Equal(t, updated["authentication_provider"], read["authentication_provider"])

	var x struct {
		XMLName   xml.Name `xml:"authentication_providers"`
		Providers []struct {
			ID           int64  `xml:"id"`
			Kind         string `xml:"kind"`
			ClientSecret string `xml:"client_secret"`
		} `xml:"authentication_provider"`
	}
	decodeCall(t, co, http.MethodGet, base+".xml", nil, http.StatusOK, &x)
	require.Len(t, x.Providers, 1)
	assert.Equal(t, gh.ID, x.Providers[0].ID)
	assert.Equal(t, "github", x.Providers[0].Kind)
	assert.Equal(t, "rotated", x.Providers[0].ClientSecret)
}
