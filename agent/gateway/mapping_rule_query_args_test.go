package gateway

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// queryRulesGateway serves the fixture's service with one more POST rule per
// pattern (the fixture's own rule is GET /, so a POST matches only these).
func queryRulesGateway(t *testing.T, patterns ...string) string {
	t.Helper()
	f := newGatewayFixture(t, backendUserKey)
	for _, p := range patterns {
		require.NoError(t, f.tx.Create(&composition.MappingRule{OwnerType: composition.OwnerService, OwnerID: f.svc.ID,
			MetricID: f.hits.ID, HTTPMethod: "POST", Pattern: p, Delta: 1}))
	}
	up, _ := echoUpstream(t, "app")
	_, gw, _ := startTestGateway(t, f, up.URL, f.placement(f.basic, f.premium), Config{})
	return gw
}

// APIcast's mapping_rule.lua (3scale/APIcast gateway/src/apicast/mapping_rule.lua,
// matches_querystring_params) compares a literal query value with the
// request's argument "if many values were passed use the last one": a rule
// ?lang=en matches ?lang=fr&lang=en but not ?lang=en&lang=fr, which APIcast
// answers "No Mapping Rule matched".
func TestMappingRuleQueryLiteralTakesLastValue(t *testing.T) {
	gw := queryRulesGateway(t, "/search?lang=en")
	for _, tc := range []struct {
		query string
		want  int
	}{
		{"lang=en", http.StatusOK},
		{"lang=fr&lang=en", http.StatusOK},
		{"lang=en&lang=fr", http.StatusNotFound},
		{"lang=fr", http.StatusNotFound},
	} {
		a := call(t, "POST", gw+"/search?user_key=premium-key&"+tc.query, nil)
		assert.Equal(t, tc.want, a.status, "POST /search?%s: %s", tc.query, a.body)
	}
}

// In APIcast's matches_querystring_params a value holding a variable
// ({name}, regex_variable) only asks that the argument be there: `if not
// value` fails only for a missing argument, and ngx.req.get_uri_args gives
// "" for ?q= (and true for a bare ?q), both true in Lua. So ?q= matches a
// rule ?q={q}; a request without q does not.
func TestMappingRuleQueryVariableMatchesEmptyValue(t *testing.T) {
	gw := queryRulesGateway(t, "/find?q={q}")
	for _, tc := range []struct {
		query string
		want  int
	}{
		{"q=go", http.StatusOK},
		{"q=", http.StatusOK},
		{"q", http.StatusOK},
		{"other=1", http.StatusNotFound},
	} {
		a := call(t, "POST", gw+"/find?user_key=premium-key&"+tc.query, nil)
		assert.Equal(t, tc.want, a.status, "POST /find?%s: %s", tc.query, a.body)
	}
}
