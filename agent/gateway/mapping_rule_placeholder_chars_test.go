package gateway

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

// APIcast turns a path placeholder into the class
// [\w\-.~%!$&'()*+,;=@:]+ (3scale/APIcast
// gateway/src/apicast/mapping_rule.lua, regexpify) and matches it against
// ngx.var.uri, the decoded path. So a placeholder never takes a space, a
// quote, brackets, a decoded '?' or a byte of a non-ASCII letter (PCRE's \w
// without the 'u' flag is ASCII): /items/{id}$ does not match
// /items/a%20b, and APIcast answers "No Mapping Rule matched"; in prefix
// form the placeholder needs one byte of the class right after /items/.
func TestMappingRulePlaceholderTakesAPIcastCharacters(t *testing.T) {
	gw := queryRulesGateway(t, "/items/{id}$", "/files/{name}", "/v1/{id}/parts$")
	for _, tc := range []struct {
		path string
		want int
	}{
		{"/items/42", http.StatusOK},
		{"/items/a.b~c-d_e!$&'()*+,;=@:", http.StatusOK},
		{"/items/100%25", http.StatusOK}, // decoded '%' is in the class
		{"/items/a%20b", http.StatusNotFound},
		{"/items/a%22b", http.StatusNotFound},
		{"/items/a%5Bb%5D", http.StatusNotFound},
		{"/items/a%3Fb", http.StatusNotFound},
		{"/items/caf%C3%A9", http.StatusNotFound},
		{"/files/a%20b", http.StatusOK}, // prefix: "a" matches
		{"/files/%20ab", http.StatusNotFound},
		{"/v1/x%20y/parts", http.StatusNotFound},
		{"/v1/xy/parts", http.StatusOK},
	} {
		a := call(t, "POST", gw+tc.path+"?user_key=premium-key", nil)
		assert.Equal(t, tc.want, a.status, "POST %s: %s", tc.path, a.body)
	}
}
