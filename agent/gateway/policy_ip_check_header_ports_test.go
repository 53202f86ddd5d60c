package gateway

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

// An address forwarded in X-Real-IP or X-Forwarded-For may carry a port and,
// for IPv6, brackets: nginx's realip module reads both headers as "the
// address and port ... specified according to RFC 3986" ("The request header
// field value that contains an optional port is also used to replace the
// client port", ngx_http_realip_module docs, 1.11.0), so "1.2.3.4:5678",
// "[2001:db8::7]:443" and the bare IP-literal "[2001:db8::7]" all name the
// address inside. ip_check must match each as that address: a blacklisted
// client forwarded with a port or in brackets is still denied, a
// whitelisted one still let through.
func TestPolicyIPCheckForwardedAddressWithPortOrBrackets(t *testing.T) {
	for _, src := range []string{"X-Real-Ip", "X-Forwarded-For"} {
		source := map[string]string{"X-Real-Ip": "X-Real-IP", "X-Forwarded-For": "X-Forwarded-For"}[src]
		black := startChainGateway(t, ipCheckChain(`{"ips":["3.4.5.6","2001:db8::/32"],"check_type":"blacklist",
			"client_ip_sources":["`+source+`"]}`))
		white := startChainGateway(t, ipCheckChain(`{"ips":["3.4.5.6","2001:db8::/32"],"check_type":"whitelist",
			"client_ip_sources":["`+source+`"]}`))
		for _, v := range []string{"3.4.5.6", "3.4.5.6:5678", " 3.4.5.6 ", "2001:db8::7", "[2001:db8::7]:443", "[2001:db8::7]"} {
			h := http.Header{src: {v}}
			a := call(t, "GET", black.base+"/?user_key="+black.key, h)
			assert.Equal(t, http.StatusForbidden, a.status, "blacklist, %s: %q", src, v)
			a = call(t, "GET", white.base+"/?user_key="+white.key, h)
			assert.Equal(t, http.StatusOK, a.status, "whitelist, %s: %q", src, v)
		}
		// Forms that hold no address are in no list: a whitelist refuses
		// them, and nothing in them crashes the gateway.
		for _, v := range []string{"[3.4.5.6", "3.4.5.6]", "[]:80", "[[2001:db8::7]]", "unknown"} {
			a := call(t, "GET", white.base+"/?user_key="+white.key, http.Header{src: {v}})
			assert.Equal(t, http.StatusForbidden, a.status, "whitelist, %s: %q", src, v)
		}
	}
}
