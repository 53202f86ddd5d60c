package gateway

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// TRACE and CONNECT matched by a mapping rule (ANY, or one of those
// methods, which the composition takes as porta does) never reach the app:
// nginx in front of APIcast answers both 405 before any Lua runs
// (nginx/nginx src/http/ngx_http_request.c,
// ngx_http_process_request_header). The app here answers TRACE as Apache
// httpd does by default (TraceEnable on): the request it received, echoed
// as message/http. Forwarded, that echo handed the client the service's
// X-3scale-Proxy-Secret-Token (RFC 9110 §9.3.8: a client "MUST NOT generate
// fields in a TRACE request containing sensitive data that might be
// disclosed by the response"); a CONNECT's 2xx was relayed with a
// Content-Length, which RFC 9110 §9.3.6 forbids in a 2xx to CONNECT (a
// client in front takes the connection for a tunnel, RFC 9112 §6.3).
func TestGatewayWireTraceAndConnectNeverReachTheApp(t *testing.T) {
	app := newWtRawApp(t, func(r *http.Request, c net.Conn) {
		var echo strings.Builder
		_ = r.Write(&echo)
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: message/http\r\nContent-Length: "+
			strconv.Itoa(echo.Len())+"\r\n\r\n"+echo.String())
	})
	f := newGatewayFixture(t, backendUserKey)
	require.NoError(t, f.tx.Create(&composition.MappingRule{OwnerType: composition.OwnerService, OwnerID: f.svc.ID,
		MetricID: f.hits.ID, HTTPMethod: "ANY", Pattern: "/", Delta: 1}))
	p, _ := f.tx.View().Proxies.Get(f.svc.ID)
	require.NotEmpty(t, p.SecretToken)
	_, gw, _ := startTestGateway(t, f, app.url, f.placement(f.premium), Config{})
	addr := strings.TrimPrefix(gw, "http://")

	wc := wtDial(t, addr)
	wc.send("TRACE /x?" + wtKey + " HTTP/1.1\r\nHost: gw\r\n\r\n")
	a := wc.read("TRACE")
	assert.Equal(t, http.StatusMethodNotAllowed, a.status)
	assert.NotContains(t, a.body, p.SecretToken, "the secret token was echoed to the client")
	wc.send(wtGet("/after-trace"))
	a = wc.read("GET")
	assert.Equal(t, http.StatusOK, a.status, "the connection goes on")
	assert.True(t, strings.HasPrefix(a.body, "GET /after-trace"), a.body)

	for _, target := range []string{"/x?" + wtKey, "gw:443"} {
		wc := wtDial(t, addr)
		wc.send("CONNECT " + target + " HTTP/1.1\r\nHost: gw\r\n\r\n")
		a := wc.read("CONNECT")
		assert.NotEqual(t, http.StatusOK, a.status, "CONNECT %s: a 2xx to CONNECT", target)
		assert.NotContains(t, a.body, p.SecretToken, "CONNECT %s", target)
		if strings.HasPrefix(target, "/") { // matched the rule: the forwarder's 405, and the end
			assert.Equal(t, http.StatusMethodNotAllowed, a.status)
			assert.True(t, a.close, "what follows a refused CONNECT may be a tunnel's bytes")
		}
	}
	for _, r := range app.requests() {
		assert.False(t, strings.HasPrefix(r, "TRACE") || strings.HasPrefix(r, "CONNECT"), "the app received %q", r)
	}
}
