package gateway

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// A header name with an underscore is the same name as with a hyphen to the
// apps whose servers turn names into CGI-style variables (HTTP_X_FORWARDED_FOR:
// gunicorn before 22.0, Puma before 6.4.3, CVE-2024-45614), and a client
// sending X-Forwarded_For would clobber the value the gateway sets. nginx
// in front of APIcast ignores such fields by default (underscores_in_headers
// off); the gateway does not forward them either. It still reads
// credentials from them (credentials.go).
func TestGatewayWireUnderscoredHeaderNamesAreNotForwarded(t *testing.T) {
	app := newWtRawApp(t, wtPathAnswer)
	addr := startWtGatewayTo(t, app.url)
	wc := wtDial(t, addr)
	wc.send("GET /h?" + wtKey + " HTTP/1.1\r\nHost: gw\r\nX-Forwarded_For: 6.6.6.6\r\n" +
		"X_3scale_Proxy_Secret_Token: forged\r\nX_Plain: p\r\nX-Kept: k\r\n\r\n")
	a := wc.read("GET")
	require.Equal(t, http.StatusOK, a.status)
	reqs := app.requests()
	require.Len(t, reqs, 1)
	head, _, _ := strings.Cut(reqs[0], "\r\n\r\n")
	for _, line := range strings.Split(head, "\r\n")[1:] {
		name, _, _ := strings.Cut(line, ":")
		assert.NotContains(t, name, "_", "forwarded: %q", line)
	}
	assert.NotContains(t, reqs[0], "6.6.6.6")
	assert.NotContains(t, reqs[0], "forged")
	assert.Contains(t, reqs[0], "\r\nX-Kept: k\r\n")
	assert.Contains(t, reqs[0], "\r\nX-Forwarded-For: 127.0.0.1\r\n")
	assert.Equal(t, 1, strings.Count(reqs[0], "GET "), "one request")
}

// The secret token header is the gateway's to send: a client's copy never
// reaches the app, whether the service has a secret token or not, over the
// lean forwarder and over httputil.ReverseProxy (an upstream with a base
// path) alike. An app that checks the header would otherwise take a forged
// one for the gateway's.
func TestGatewayDropsAClientsSecretToken(t *testing.T) {
	seen := make(chan []string, 4)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Values(secretTokenHeader)
	}))
	t.Cleanup(up.Close)
	for _, token := range []string{"", "the-services-secret"} {
		f := newGatewayFixture(t, backendUserKey)
		f.proxy(t, func(p *composition.Proxy) { p.SecretToken = token })
		for via, target := range map[string]string{"lean forwarder": up.URL, "reverse proxy": up.URL + "/base"} {
			_, gw, _ := startTestGateway(t, f, target, f.placement(f.premium), Config{})
			a := call(t, "GET", gw+"/?user_key=premium-key", http.Header{secretTokenHeader: {"forged"}})
			require.Equal(t, http.StatusOK, a.status, "%s: %s", via, a.body)
			got := <-seen
			if token == "" {
				assert.Empty(t, got, "%s, no secret token: the client's copy is dropped", via)
			} else {
				assert.Equal(t, []string{token}, got, "%s: the service's, not the client's", via)
			}
		}
	}
}
