package gateway

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// allow_origin: "In order to allow more than one origin it is possible to
// use a regular expression, if it matches with Origin header value, the
// value will be set to the Origin Value. In case it does not match, the
// header will not set at all." A regular expression written with its scheme
// ("https://.*.example.com") still parses as a URL; it is a pattern all the
// same, never sent as if it were an origin.
func TestPolicyCORSOriginPatternWithSchemeMatchesOrigins(t *testing.T) {
	cg := startChainGateway(t, `[{"name":"cors","version":"builtin","enabled":true,"configuration":{"allow_origin":"https://.*.example.com"}},
		{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`)
	for origin, allowed := range map[string]bool{"https://api.example.com": true, "https://web.example.com": true, "https://evil.test": false} {
		a := call(t, "GET", cg.base+"/?user_key="+cg.key, http.Header{"Origin": {origin}})
		require.Equal(t, http.StatusOK, a.status)
		<-cg.got
		if allowed {
			assert.Equal(t, origin, a.header.Get("Access-Control-Allow-Origin"), origin)
		} else {
			assert.Empty(t, a.header.Values("Access-Control-Allow-Origin"), "a non-matching origin gets no Allow-Origin: %s", origin)
		}
	}
}

// "The field expects only one origin (e.g. 'https://example.com')": an IPv6
// origin, brackets and all, is still one origin, sent as configured.
func TestPolicyCORSIPv6OriginIsAnOrigin(t *testing.T) {
	cg := startChainGateway(t, `[{"name":"cors","version":"builtin","enabled":true,"configuration":{"allow_origin":"http://[::1]:8080"}},
		{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`)
	a := call(t, "GET", cg.base+"/?user_key="+cg.key, http.Header{"Origin": {"http://[::1]:8080"}})
	require.Equal(t, http.StatusOK, a.status)
	<-cg.got
	assert.Equal(t, "http://[::1]:8080", a.header.Get("Access-Control-Allow-Origin"))
}
