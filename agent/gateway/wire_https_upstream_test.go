package gateway

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/http1"
	"github.com/portolan/portolan/internal/pki"
)

// Requests to an https upstream go through httputil.ReverseProxy, not the
// lean forwarder: they get the same rules. An h2c upgrade is not passed on
// (ReverseProxy puts a requested Upgrade back before Rewrite: an app that
// switched would serve later requests past every check), header names the
// forwarder never sends (an underscore: X_Forwarded_For read as
// X-Forwarded-For by CGI-style servers) are dropped, and an answer's head
// is bounded as the forwarder bounds it (Go's Transport allows 10 MB).
func TestGatewayHTTPSUpstreamGetsTheForwardersRules(t *testing.T) {
	certs := newTestCerts(t)
	certFile, keyFile, _ := certs.issue(t, pki.RoleServer, "upstream")
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	require.NoError(t, err)
	got := make(chan http.Header, 10)
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Clone()
		if r.URL.Path == "/huge" {
			w.Header().Set("X-Huge", strings.Repeat("h", http1.MaxHeaderBytes+1))
		}
		_, _ = w.Write([]byte("secure app"))
	}))
	up.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12} // HTTP/1.1: where Upgrade means something
	up.Config.MaxHeaderBytes = 1 << 20
	up.StartTLS()
	t.Cleanup(up.Close)

	f := newGatewayFixture(t, backendUserKey)
	_, gw, _ := startTestGateway(t, f, up.URL, f.placement(f.premium), Config{TLS: TLS{UpstreamCAFile: certs.caFile}})
	req, err := http.NewRequest(http.MethodGet, gw+"/articles?user_key=premium-key", nil)
	require.NoError(t, err)
	req.Header.Set("Connection", "Upgrade, HTTP2-Settings")
	req.Header.Set("Upgrade", "h2c")
	req.Header.Set("HTTP2-Settings", "AAMAAABkAARAAAAAAAIAAAAA")
	req.Header["X_Forwarded_For"] = []string{"10.9.8.7"}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	h := <-got
	assert.Empty(t, h.Get("Upgrade"), "the h2c upgrade reached the app")
	assert.Empty(t, h.Get("Http2-Settings"))
	for k := range h {
		assert.NotContains(t, k, "_", "an underscore header name reached the app")
	}
	assert.NotContains(t, h.Get("X-Forwarded-For"), "10.9.8.7")

	a := call(t, "GET", gw+"/huge?user_key=premium-key", nil)
	assert.Equal(t, http.StatusBadGateway, a.status, "an answer head over %d bytes", http1.MaxHeaderBytes)
}
