package threescale_test

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition/boltstore"
	"github.com/portolan/portolan/threescale"
)

const goodToken = "good-token"

func newAPIServer(t *testing.T) (*threescale.API, *boltstore.Store, *httptest.Server) {
	t.Helper()
	store, err := boltstore.Open(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	api := threescale.New(store, threescale.NewTokenChecker(goodToken))
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return api, store, srv
}

var wildcard = regexp.MustCompile(`\{[^}]+\}`)

func suffix(f threescale.Format) string {
	if f == threescale.XML {
		return ".xml"
	}
	return ".json"
}

// Every route of the table refuses a request without the right token, wherever
// the wrong token is put, and writes nothing.
func TestEveryRouteRefusesMissingOrWrongToken(t *testing.T) {
	api, store, srv := newAPIServer(t)
	routes := api.Routes()
	require.NotEmpty(t, routes)
	before := store.Snapshot().Revision

	type attempt struct {
		name  string
		apply func(r *http.Request)
		query string
	}
	attempts := []attempt{
		{name: "no token"},
		{name: "wrong access_token", query: "access_token=wrong"},
		{name: "wrong provider_key", query: "provider_key=wrong"},
		{name: "empty access_token", query: "access_token="},
		{name: "wrong basic password", apply: func(r *http.Request) { r.SetBasicAuth("", "wrong") }},
		{name: "wrong basic user", apply: func(r *http.Request) { r.SetBasicAuth("wrong", "") }},
		{name: "token prefix", query: "access_token=" + goodToken[:4]},
		{name: "bearer header is not 3scale's", apply: func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+goodToken) }},
	}
	checked := 0
	for _, rt := range routes {
		formats := rt.Formats
		if len(formats) == 0 {
			formats = []threescale.Format{threescale.JSON}
		}
		for _, f := range formats {
			path := wildcard.ReplaceAllString(rt.Path, "1") + suffix(f)
			for _, a := range attempts {
				target := srv.URL + path
				if a.query != "" {
					target += "?" + a.query
				}
				body := strings.NewReader("name=x&access_token=wrong")
				req, err := http.NewRequest(rt.Method, target, body)
				require.NoError(t, err)
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				if a.apply != nil {
					a.apply(req)
				}
				resp, err := http.DefaultClient.Do(req)
				require.NoError(t, err)
				resp.Body.Close()
				assert.Equal(t, http.StatusForbidden, resp.StatusCode, "%s %s (%s)", rt.Method, path, a.name)
				checked++
			}
		}
	}
	assert.Equal(t, before, store.Snapshot().Revision, "a refused request wrote something")
	t.Logf("%d refused requests over %d routes", checked, len(routes))

	// The right token gets past the check on the same table, so the refusals
	// above are about the token and not about the paths.
	for _, rt := range routes {
		if rt.Method != http.MethodGet {
			continue
		}
		path := wildcard.ReplaceAllString(rt.Path, "1")
		req, err := http.NewRequest(rt.Method, srv.URL+path+".json", nil)
		require.NoError(t, err)
		req.SetBasicAuth("", goodToken)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.NotEqual(t, http.StatusForbidden, resp.StatusCode, "GET %s with the right token", path)
	}
}

// Every route needs a scope: the policy registry policy_registry, the rest
// account_management; writes are exactly the methods other than GET and HEAD.
func TestEveryRouteHasItsScope(t *testing.T) {
	api, _, _ := newAPIServer(t)
	for _, rt := range api.Routes() {
		want := "account_management"
		if strings.HasPrefix(rt.Path, "/admin/api/registry/") {
			want = "policy_registry"
		}
		assert.Equal(t, want, rt.Scope, "%s %s", rt.Method, rt.Path)
		assert.Equal(t, rt.Method != http.MethodGet && rt.Method != http.MethodHead, rt.Writes(), "%s %s", rt.Method, rt.Path)
	}
}
