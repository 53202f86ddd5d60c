package mgmt

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// The README: "any credentials the app sent (access_token, provider_key in
// the query, a form, multipart or JSON body, …) are dropped". Rack, which
// parses porta's query string, reads "[provider_key]", "provider_key]" and
// "provider_key[]" as provider_key (rack lib/rack/query_parser.rb
// normalize_params: leading brackets skipped, the key ends at the next
// bracket), as the proxy already reads them in a form or multipart body
// (isCredential). In the query only the exact names were dropped, so the
// app's own provider_key reached a real 3scale upstream.
func TestQueryCredentialsAreDroppedInEverySpellingRackReads(t *testing.T) {
	co := testenv.StartCoordinator(t)
	rec := newRecorder(t, co.URL)
	env := startProxy(t, rec.srv.URL, co.Token, testSelection)

	q := "[provider_key]=app-key-1&provider_key]=app-key-2&provider_key[]=app-key-3&%5Baccess_token%5D=app-token-1&access_token[]=app-token-2&per_page=5"
	resp, body := call(t, http.MethodGet, env.url+"/admin/api/services.json?"+q, "", "")
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)

	uri := rec.last(t).URI
	_, raw, _ := strings.Cut(uri, "?")
	got, err := url.ParseQuery(raw)
	require.NoError(t, err)
	for k, vs := range got {
		switch rackKey(k) {
		case "provider_key":
			t.Errorf("the upstream got %q=%q, which Rack reads as provider_key: want every app credential dropped", k, vs)
		case "access_token":
			if k != "access_token" || len(vs) != 1 || vs[0] != co.Token {
				t.Errorf("the upstream got %q=%q, which Rack reads as access_token: want only the proxy's token", k, vs)
			}
		}
	}
	assert.Equal(t, []string{"5"}, got["per_page"], "other parameters pass")
}
