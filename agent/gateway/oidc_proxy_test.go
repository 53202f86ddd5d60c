package gateway

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Plain HTTP reaches only loopback, judged when dialling; a forward proxy
// from the environment (HTTP_PROXY) would be what is dialled, and one on
// loopback (a sidecar) carries the issuer's discovery document and keys in
// clear from anywhere. Plain-HTTP issuer fetches go through no proxy
// (--oidc-insecure-issuers lets them, as it lets plain HTTP off loopback).
func TestOIDCPlainHTTPIssuerSkipsTheEnvironmentsProxy(t *testing.T) {
	var proxied atomic.Int64
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		proxied.Add(1)
		http.Error(w, "relayed in clear", http.StatusBadGateway)
	}))
	t.Cleanup(proxy.Close)
	for _, k := range []string{"HTTP_PROXY", "http_proxy"} {
		t.Setenv(k, proxy.URL)
	}
	for _, k := range []string{"NO_PROXY", "no_proxy", "REQUEST_METHOD"} {
		t.Setenv(k, "")
	}
	const endpoint = "http://issuer.example/realms/craft" // a name: judged when dialled
	og := startOIDCGatewayAt(t, endpoint, "", nil, nil)
	require.Error(t, discoveryErr(t, og, endpoint))
	assert.Zero(t, proxied.Load(), "the issuer was asked for through the proxy, in clear")
}
