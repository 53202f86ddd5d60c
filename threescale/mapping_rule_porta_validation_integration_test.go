package threescale_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/3scale/3scale-porta-go-client/client"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// porta's ProxyRule (3scale/porta app/models/proxy_rule.rb) refuses what
// 3scale would never serve, so a rule made here can be moved to 3scale:
//   - non_repeated_parameters: "Can't have repeated variable names", a
//     variable of the path given twice, or a name given twice among the
//     path's variables and the query's keys;
//   - validates :pattern, length: { maximum: 255 };
//   - ALLOWED_HTTP_METHODS = %w[GET POST DELETE PUT PATCH HEAD OPTIONS]: no
//     TRACE or CONNECT (ANY, which APIcast's mapping_rule.lua matches, stays).
func TestMappingRulePortaValidation(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	svc := createProduct(t, cl, "Porta Rules", nil)
	list, err := cl.ListProductMetrics(svc)
	require.NoError(t, err)
	hits := strconv.FormatInt(findHits(t, list.Metrics).ID, 10)
	rule := func(method, pattern string) client.Params {
		return client.Params{"http_method": method, "pattern": pattern, "metric_id": hits, "delta": "1"}
	}
	for _, pattern := range []string{
		"/a/{id}/b/{id}",
		"/a/{id}?id={x}",
		"/a?k=1&k=2",
		"/a?k={x}&k={y}",
		"/" + strings.Repeat("a", 255),
	} {
		_, err := cl.CreateProductMappingRule(svc, rule("GET", pattern))
		apiErr(t, err, http.StatusUnprocessableEntity, "pattern")
	}
	for _, method := range []string{"TRACE", "CONNECT", "trace"} {
		_, err := cl.CreateProductMappingRule(svc, rule(method, "/"))
		apiErr(t, err, http.StatusUnprocessableEntity, "http_method")
	}
	for _, ok := range []client.Params{
		rule("GET", "/a/{id}/b/{other}?q={q}&lang=en"),
		rule("GET", "/"+strings.Repeat("a", 254)),
		rule("ANY", "/any"),
		rule("options", "/opts"),
	} {
		_, err := cl.CreateProductMappingRule(svc, ok)
		require.NoError(t, err, "%v", ok)
	}
}
