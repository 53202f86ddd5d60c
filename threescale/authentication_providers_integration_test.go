package threescale_test

import (
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

type authProviderJSON struct {
	ID                             int64  `json:"id"`
	Kind                           string `json:"kind"`
	AccountType                    string `json:"account_type"`
	Name                           string `json:"name"`
	SystemName                     string `json:"system_name"`
	ClientID                       string `json:"client_id"`
	ClientSecret                   string `json:"client_secret"`
	Site                           string `json:"site"`
	TokenURL                       string `json:"token_url"`
	SkipSSLCertificateVerification bool   `json:"skip_ssl_certificate_verification"`
	AutomaticallyApproveAccounts   bool   `json:"automatically_approve_accounts"`
	AccountID                      int64  `json:"account_id"`
	UsernameKey                    string `json:"username_key"`
	IdentifierKey                  string `json:"identifier_key"`
	Published                      bool   `json:"published"`
	CreatedAt                      string `json:"created_at"`
	UpdatedAt                      string `json:"updated_at"`
	CallbackURL                    string `json:"callback_url"`
}

func TestAdminPortalAuthProvidersRoundTripAs3scale(t *testing.T) {
	co := testenv.StartCoordinator(t)
	const base = "/admin/api/account/authentication_providers"

	// Only Keycloak and Auth0 sign in to the admin portal; Keycloak needs
	// a site (its realm) and credentials.
	status, body := formCall(t, co, http.MethodPost, base+".json", url.Values{"kind": {"github"}, "client_id": {"a"}, "client_secret": {"b"}})
	assert.Equal(t, []string{"not found"}, fieldErrors(t, status, body)["kind"])
	status, body = formCall(t, co, http.MethodPost, base+".json", url.Values{"kind": {"keycloak"}})
	errs := fieldErrors(t, status, body)
	for _, f := range []string{"site", "client_id", "client_secret"} {
		assert.Equal(t, []string{"can't be blank"}, errs[f], f)
	}

	var created map[string]authProviderJSON
	decodeCall(t, co, http.MethodPost, base+".json", url.Values{
		"kind": {"Keycloak"}, "client_id": {"portolan"}, "client_secret": {"s3cret"}, "site": {"https://sso.example/auth/realms/acme"},
		"token_url": {"https://ignored.example/token"}, // not permitted for the admin portal
	}, http.StatusCreated, &created)
	kc := created["authentication_provider"]
	assert.Equal(t, "keycloak", kc.Kind)
	assert.Equal(t, "provider", kc.AccountType)
	assert.Equal(t, "keycloak", kc.SystemName, "system_name defaults to the kind")
	assert.Equal(t, "Red Hat Single Sign-On", kc.Name)
	assert.Equal(t, "s3cret", kc.ClientSecret, "porta's representer answers the client secret")
	assert.Empty(t, kc.TokenURL)
	assert.Equal(t, int64(1), kc.AccountID)
	assert.Equal(t, "id", kc.IdentifierKey)
	assert.Equal(t, "login", kc.UsernameKey)
	assert.False(t, kc.Published)
	assert.True(t, strings.HasSuffix(kc.CallbackURL, "/auth/keycloak/callback"), kc.CallbackURL)
	recentTime(t, kc.CreatedAt)

	// The same system name again is taken.
	status, body = formCall(t, co, http.MethodPost, base+".json", url.Values{
		"kind": {"auth0"}, "system_name": {"keycloak"}, "client_id": {"x"}, "client_secret": {"y"}, "site": {"https://acme.auth0.com"},
	})
	assert.Equal(t, []string{"has already been taken"}, fieldErrors(t, status, body)["system_name"])

	// Update: only credentials, site, skip_ssl_certificate_verification and
	// published change; name and kind stay.
	var updated map[string]authProviderJSON
	decodeCall(t, co, http.MethodPut, base+"/"+s64(kc.ID)+".json", url.Values{
		"published": {"true"}, "client_secret": {"rotated"}, "name": {"Renamed"}, "kind": {"auth0"},
		"skip_ssl_certificate_verification": {"true"},
	}, http.StatusOK, &updated)
	u := updated["authentication_provider"]
	assert.True(t, u.Published)
	assert.True(t, u.SkipSSLCertificateVerification)
	assert.Equal(t, "rotated", u.ClientSecret)
	assert.Equal(t, "Red Hat Single Sign-On", u.Name)
	assert.Equal(t, "keycloak", u.Kind)

	var read map[string]authProviderJSON
	decodeCall(t, co, http.MethodGet, base+"/"+s64(kc.ID)+".json", nil, http.StatusOK, &read)
	assert.Equal(t, u, read["authentication_provider"])

	var list map[string][]map[string]authProviderJSON
	decodeCall(t, co, http.MethodGet, base+".json", nil, http.StatusOK, &list)
	require.Len(t, list["authentication_providers"], 1)
	assert.Equal(t, kc.ID, list["authentication_providers"][0]["authentication_provider"].ID)

	// XML, and a developer portal provider is not the admin portal's.
	status, body = rawCall(t, co, http.MethodGet, base+".xml", "", "")
	require.Equal(t, http.StatusOK, status, "%s", body)
	var x struct {
		XMLName   xml.Name `xml:"authentication_providers"`
		Providers []struct {
			ID           int64  `xml:"id"`
			ClientSecret string `xml:"client_secret"`
			CallbackURL  string `xml:"callback_url"`
		} `xml:"authentication_provider"`
	}
	require.NoError(t, xml.Unmarshal(body, &x), "%s", body)
	require.Len(t, x.Providers, 1)
	assert.Equal(t, "rotated", x.Providers[0].ClientSecret)
	status, _ = rawCall(t, co, http.MethodGet, "/admin/api/authentication_providers/"+s64(kc.ID)+".json", "", "")
	assert.Equal(t, http.StatusNotFound, status, "the admin portal's provider is not the developer portal's")
	status, _ = rawCall(t, co, http.MethodDelete, base+"/"+s64(kc.ID)+".json", "", "")
	assert.Equal(t, http.StatusNotFound, status, "3scale routes no delete")
}

func TestDeveloperPortalAuthProvidersRoundTripAs3scale(t *testing.T) {
	co := testenv.StartCoordinator(t)
	const base = "/admin/api/authentication_providers"

	// A custom kind with its own URLs, sent wrapped as porta accepts it.
	var created map[string]authProviderJSON
	decodeCall(t, co, http.MethodPost, base+".json", url.Values{
		"authentication_provider[kind]": {"my_oauth"}, "authentication_provider[name]": {"Corporate"},
		"authentication_provider[client_id]": {"cid"}, "authentication_provider[client_secret]": {"csec"},
		"authentication_provider[token_url]":      {"https://oauth.example/token"},
		"authentication_provider[identifier_key]": {"sub"},
	}, http.StatusCreated, &created)
	custom := created["authentication_provider"]
	assert.Equal(t, "my_oauth", custom.Kind)
	assert.Equal(t, "developer", custom.AccountType)
	assert.Equal(t, "Corporate", custom.Name)
	assert.Equal(t, "https://oauth.example/token", custom.TokenURL)
	assert.Equal(t, "sub", custom.IdentifierKey)

	// One provider of a kind per developer portal; URLs must be http(s).
	status, body := formCall(t, co, http.MethodPost, base+".json", url.Values{
		"kind": {"my_oauth"}, "system_name": {"other"}, "client_id": {"a"}, "client_secret": {"b"}, "token_url": {"ftp://x"},
	})
	errs := fieldErrors(t, status, body)
	assert.Equal(t, []string{"has already been taken"}, errs["kind"])
	assert.Equal(t, []string{"Invalid URL format"}, errs["token_url"])

	// JSON body, wrapped; update may set automatically_approve_accounts but
	// not token_url.
	status, body = rawCall(t, co, http.MethodPut, base+"/"+s64(custom.ID)+".json", "application/json",
		`{"authentication_provider":{"automatically_approve_accounts":true,"token_url":"https://other.example/t","client_id":"cid2"}}`)
	require.Equal(t, http.StatusOK, status, "%s", body)
	var updated map[string]authProviderJSON
	require.NoError(t, json.Unmarshal(body, &updated))
	assert.True(t, updated["authentication_provider"].AutomaticallyApproveAccounts)
	assert.Equal(t, "cid2", updated["authentication_provider"].ClientID)
	assert.Equal(t, "https://oauth.example/token", updated["authentication_provider"].TokenURL)

	// Kept across a restart.
	co.Stop()
	co.Start()
	var read map[string]authProviderJSON
	decodeCall(t, co, http.MethodGet, base+"/"+s64(custom.ID)+".json", nil, http.StatusOK, &read)
	assert.Equal(t, updated["authentication_provider"], read["authentication_provider"])
	status, _ = rawCall(t, co, http.MethodGet, base+"/999999.json", "", "")
	assert.Equal(t, http.StatusNotFound, status)
}
