package threescale_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/3scale/3scale-porta-go-client/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/composition/boltstore"
	"github.com/portolan/portolan/threescale"
)

const bootstrapToken = "bootstrap-token-for-tests"

// tokenEnv is the Account Management API and Analytics on a real bbolt
// store, the bootstrap token configured, stored tokens accepted.
type tokenEnv struct {
	dir   string
	store *boltstore.Store
	tc    *threescale.TokenChecker
	srv   *httptest.Server
}

func newTokenEnv(t *testing.T, maxTokens int) *tokenEnv {
	t.Helper()
	dir := t.TempDir()
	store, err := boltstore.Open(dir)
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	tc := threescale.NewStoreTokenChecker(store.Snapshot, bootstrapToken)
	tc.MaxTokens = maxTokens
	mux := http.NewServeMux()
	mux.Handle("/admin/api/", threescale.New(store, tc))
	mux.Handle("/stats/", threescale.NewAnalytics(store, tc, nil))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &tokenEnv{dir: dir, store: store, tc: tc, srv: srv}
}

// call sends method path with token (query access_token for GET/DELETE,
// else in the form body with params) and returns status and body.
func (e *tokenEnv) call(t *testing.T, token, method, path string, params url.Values) (int, string) {
	t.Helper()
	if params == nil {
		params = url.Values{}
	}
	params.Set("access_token", token)
	var body io.Reader
	target := e.srv.URL + path
	if method == http.MethodGet || method == http.MethodDelete {
		target += "?" + params.Encode()
	} else {
		body = strings.NewReader(params.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	require.NoError(t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// create makes a token with the bootstrap token and returns what porta
// answers (the official client's type).
func (e *tokenEnv) create(t *testing.T, name, permission string, scopes ...string) client.AccessToken {
	t.Helper()
	status, body := e.call(t, bootstrapToken, http.MethodPost, "/admin/api/personal/access_tokens.json",
		url.Values{"name": {name}, "permission": {permission}, "scopes[]": scopes})
	require.Equal(t, http.StatusCreated, status, body)
	var out struct {
		AccessToken client.AccessToken `json:"access_token"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &out))
	require.Len(t, out.AccessToken.Value, 64, "256 bits, hex")
	return out.AccessToken
}

func TestCreatedAccessTokenWorksAtOnceAndDeletedStops(t *testing.T) {
	e := newTokenEnv(t, 0)
	tok := e.create(t, "CI", "rw", "account_management")
	assert.Equal(t, "CI", tok.Name)
	assert.Equal(t, []string{"account_management"}, tok.Scopes)
	assert.Equal(t, "rw", tok.Permission)

	status, body := e.call(t, tok.Value, http.MethodPost, "/admin/api/services.json", url.Values{"name": {"News"}})
	assert.Equal(t, http.StatusCreated, status, body)

	status, _ = e.call(t, bootstrapToken, http.MethodDelete, "/admin/api/personal/access_tokens/"+itoa(tok.ID)+".json", nil)
	require.Equal(t, http.StatusOK, status)
	status, body = e.call(t, tok.Value, http.MethodGet, "/admin/api/services.json", nil)
	assert.Equal(t, http.StatusForbidden, status)
	assert.JSONEq(t, `{"error":"Access denied"}`, body)
}

func TestReadOnlyTokenReadsButCannotWrite(t *testing.T) {
	e := newTokenEnv(t, 0)
	ro := e.create(t, "dashboard", "ro", "account_management")

	// The official client, as a user of a read-only token would drive it.
	portal, err := client.NewAdminPortalFromStr(e.srv.URL)
	require.NoError(t, err)
	c := client.NewThreeScale(portal, ro.Value, e.srv.Client())
	_, err = c.ListProducts()
	require.NoError(t, err, "a ro token reads")
	_, err = c.CreateProduct("News", client.Params{})
	require.Error(t, err, "a ro token cannot write")
	var apiErr client.ApiErr
	if assert.ErrorAs(t, err, &apiErr) {
		assert.Equal(t, http.StatusForbidden, apiErr.Code())
	}

	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		path := "/admin/api/services.json"
		if m != http.MethodPost {
			path = "/admin/api/services/1.json"
		}
		status, body := e.call(t, ro.Value, m, path, url.Values{"name": {"x"}})
		assert.Equal(t, http.StatusForbidden, status, "%s %s", m, path)
		assert.JSONEq(t, `{"error":"Your access token does not have the correct permissions"}`, body)
	}
	status, _ := e.call(t, ro.Value, http.MethodPost, "/admin/api/personal/access_tokens.json",
		url.Values{"name": {"more"}, "permission": {"rw"}, "scopes[]": {"account_management"}})
	assert.Equal(t, http.StatusForbidden, status, "a ro token cannot mint a rw one")
	assert.Zero(t, e.store.Snapshot().Services.Len(), "nothing was written")
}

func TestStatsTokenCannotCallAccountManagement(t *testing.T) {
	e := newTokenEnv(t, 0)
	stats := e.create(t, "grafana", "ro", "stats")
	status, body := e.call(t, stats.Value, http.MethodGet, "/admin/api/services.json", nil)
	assert.Equal(t, http.StatusForbidden, status)
	assert.Contains(t, body, "does not have the correct permissions")
	status, _ = e.call(t, stats.Value, http.MethodGet, "/admin/api/registry/policies.json", nil)
	assert.Equal(t, http.StatusForbidden, status, "policy registry needs policy_registry")
	// Analytics lets it in (the service does not exist: 404, not 403).
	status, body = e.call(t, stats.Value, http.MethodGet, "/stats/services/99/usage.json", url.Values{"metric_name": {"hits"}, "period": {"day"}})
	assert.Equal(t, http.StatusNotFound, status, body)

	am := e.create(t, "ops", "rw", "account_management")
	status, _ = e.call(t, am.Value, http.MethodGet, "/stats/services/99/usage.json", url.Values{"metric_name": {"hits"}, "period": {"day"}})
	assert.Equal(t, http.StatusForbidden, status, "analytics needs stats")

	pr := e.create(t, "policies", "rw", "policy_registry")
	status, body = e.call(t, pr.Value, http.MethodGet, "/admin/api/registry/policies.json", nil)
	assert.Equal(t, http.StatusOK, status, body)
}

func TestAccessTokenListAndReadNeverShowValues(t *testing.T) {
	e := newTokenEnv(t, 0)
	a := e.create(t, "alpha CI", "rw", "account_management", "stats")
	b := e.create(t, "beta", "ro", "stats")

	status, body := e.call(t, bootstrapToken, http.MethodGet, "/admin/api/personal/access_tokens.json", nil)
	require.Equal(t, http.StatusOK, status)
	assert.NotContains(t, body, a.Value)
	assert.NotContains(t, body, b.Value)
	assert.NotContains(t, body, `"value"`)
	var list struct {
		AccessTokens []struct {
			AccessToken client.AccessToken `json:"access_token"`
		} `json:"access_tokens"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &list))
	require.Len(t, list.AccessTokens, 2)
	assert.Equal(t, "alpha CI", list.AccessTokens[0].AccessToken.Name)
	assert.Equal(t, []string{"account_management", "stats"}, list.AccessTokens[0].AccessToken.Scopes)

	_, body = e.call(t, bootstrapToken, http.MethodGet, "/admin/api/personal/access_tokens.json", url.Values{"name": {"CI"}})
	assert.Contains(t, body, "alpha CI")
	assert.NotContains(t, body, "beta")

	// Read by id and, as porta, by value; neither answer holds the value.
	for _, key := range []string{itoa(b.ID), b.Value} {
		status, body = e.call(t, bootstrapToken, http.MethodGet, "/admin/api/personal/access_tokens/"+key+".json", nil)
		require.Equal(t, http.StatusOK, status)
		assert.Contains(t, body, `"name":"beta"`)
		assert.NotContains(t, body, b.Value)
	}
	status, _ = e.call(t, bootstrapToken, http.MethodDelete, "/admin/api/personal/access_tokens/"+a.Value+".json", nil)
	assert.Equal(t, http.StatusOK, status, "delete by value")
	status, _ = e.call(t, a.Value, http.MethodGet, "/admin/api/services.json", nil)
	assert.Equal(t, http.StatusForbidden, status)
}

// The bbolt file holds the digest of a token, never the token.
func TestStoreHoldsNoPlaintextToken(t *testing.T) {
	e := newTokenEnv(t, 0)
	tok := e.create(t, "CI", "rw", "account_management")
	doc := composition.Export(e.store.Snapshot(), true, time.Now())
	exported, err := json.Marshal(doc)
	require.NoError(t, err)
	assert.NotContains(t, string(exported), tok.Value)
	assert.Contains(t, string(exported), composition.TokenDigest(tok.Value), "the export with secrets carries the digest")

	require.NoError(t, e.store.Close())
	files, err := filepath.Glob(filepath.Join(e.dir, "*"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		assert.NotContains(t, string(b), tok.Value, "%s holds the token", f)
		assert.NotContains(t, string(b), bootstrapToken, "%s holds the bootstrap token", f)
	}
}

func TestAccessTokenCannotGrantMoreThanItHolds(t *testing.T) {
	e := newTokenEnv(t, 0)
	am := e.create(t, "ops", "rw", "account_management")
	status, body := e.call(t, am.Value, http.MethodPost, "/admin/api/personal/access_tokens.json",
		url.Values{"name": {"sneaky"}, "permission": {"rw"}, "scopes[]": {"account_management", "stats"}})
	assert.Equal(t, http.StatusForbidden, status, body)
	assert.Contains(t, body, "stats")
	status, body = e.call(t, am.Value, http.MethodPost, "/admin/api/personal/access_tokens.json",
		url.Values{"name": {"narrower"}, "permission": {"ro"}, "scopes[]": {"account_management"}})
	assert.Equal(t, http.StatusCreated, status, body)
}

func TestAccessTokenValidationAndCap(t *testing.T) {
	e := newTokenEnv(t, 2)
	post := func(params url.Values) (int, string) {
		return e.call(t, bootstrapToken, http.MethodPost, "/admin/api/personal/access_tokens.json", params)
	}
	for _, tc := range []struct {
		params url.Values
		field  string
	}{
		{url.Values{"permission": {"rw"}, "scopes[]": {"stats"}}, "name"},
		{url.Values{"name": {"x"}, "permission": {"admin"}, "scopes[]": {"stats"}}, "permission"},
		{url.Values{"name": {"x"}, "permission": {"ro"}}, "scopes"},
		{url.Values{"name": {"x"}, "permission": {"ro"}, "scopes[]": {"root"}}, "scopes"},
		{url.Values{"name": {"x"}, "permission": {"ro"}, "scopes[]": {"stats"}, "expires_at": {"2001-01-01T00:00:00Z"}}, "expires_at"},
		{url.Values{"name": {"x"}, "permission": {"ro"}, "scopes[]": {"stats"}, "expires_at": {"soon"}}, "expires_at"},
	} {
		status, body := post(tc.params)
		assert.Equal(t, http.StatusUnprocessableEntity, status, "%v: %s", tc.params, body)
		assert.Contains(t, body, `"`+tc.field+`"`, "%v", tc.params)
	}
	e.create(t, "one", "ro", "stats")
	e.create(t, "two", "ro", "finance") // accepted as 3scale does, opens nothing here
	status, body := post(url.Values{"name": {"three"}, "permission": {"ro"}, "scopes[]": {"stats"}})
	assert.Equal(t, http.StatusTooManyRequests, status)
	assert.Contains(t, body, "--max-access-tokens")
	assert.Equal(t, 2, e.store.Snapshot().AccessTokens.Len())
}

func TestExpiredAccessTokenIsRefused(t *testing.T) {
	e := newTokenEnv(t, 0)
	soon := time.Now().Add(1500 * time.Millisecond).UTC().Format(time.RFC3339Nano)
	status, body := e.call(t, bootstrapToken, http.MethodPost, "/admin/api/personal/access_tokens.json",
		url.Values{"name": {"short"}, "permission": {"ro"}, "scopes[]": {"account_management"}, "expires_at": {soon}})
	require.Equal(t, http.StatusCreated, status, body)
	var out struct {
		AccessToken client.AccessToken `json:"access_token"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &out))
	assert.Contains(t, body, `"expires_at"`)
	status, _ = e.call(t, out.AccessToken.Value, http.MethodGet, "/admin/api/services.json", nil)
	assert.Equal(t, http.StatusOK, status)
	require.Eventually(t, func() bool {
		status, _ := e.call(t, out.AccessToken.Value, http.MethodGet, "/admin/api/services.json", nil)
		return status == http.StatusForbidden
	}, 5*time.Second, 100*time.Millisecond)
}

// A per-user token needs a provider user (the round trip is in
// roundtrip_access_tokens_integration_test.go).
func TestPerUserAccessTokenNeedsAProviderUser(t *testing.T) {
	e := newTokenEnv(t, 0)
	status, body := e.call(t, bootstrapToken, http.MethodPost, "/admin/api/users/1/access_tokens.json",
		url.Values{"name": {"x"}, "permission": {"rw"}, "scopes[]": {"stats"}})
	assert.Equal(t, http.StatusNotFound, status, body)
	assert.Zero(t, e.store.Snapshot().AccessTokens.Len())
}

func itoa(id int64) string { return strconv.FormatInt(id, 10) }
