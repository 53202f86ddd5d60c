package gateway

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/pki"
)

// mtlsCamelChain is upstream_mtls with mtls, then camel with camel, as a
// service's chain; first, when set, comes before them.
func mtlsCamelChain(first, mtls, camel string) string {
	if first != "" {
		first += ","
	}
	return `[` + first + `{"name":"upstream_mtls","version":"builtin","enabled":true,"configuration":` + mtls + `},
		{"name":"camel","version":"builtin","enabled":true,"configuration":` + camel + `},
		{"name":"apicast","version":"builtin","enabled":true,"configuration":{}}]`
}

// The TLS session with camel's https proxy is the proxy's, not the
// upstream's: upstream_mtls's verify false and ca_certificates are about
// the upstream, so the proxy is verified with the agent's settings
// (--upstream-ca-file here) whatever they say. A proxy whose certificate
// the agent's CAs do not sign is refused at the handshake (502): nothing
// reaches its handler, and the upstream gets nothing. One the agent's CAs
// sign is reached with the same chains.
func TestCamelHTTPSProxyIsVerifiedWithTheAgentsSettings(t *testing.T) {
	agentCA, strangerCA := newTestCerts(t), newTestCerts(t)
	up, got := proxiedHTTPSUpstream(t, agentCA)
	stranger := startForwardProxy(t, strangerCA, agentCA.pool)
	trusted := startForwardProxy(t, agentCA, agentCA.pool)
	strangerPEM := jsonString(string(strangerCA.ca.CertPEM()))
	cfg := Config{TLS: TLS{UpstreamCAFile: agentCA.caFile}}

	for name, mtls := range map[string]string{
		"verify false":                         `{"certificate_type":"path","certificate_key_type":"path","verify":false}`,
		"the proxy's CA in ca_certificates":    `{"certificate_type":"path","certificate_key_type":"path","ca_certificates":[` + strangerPEM + `]}`,
		"both verify false and the proxy's CA": `{"certificate_type":"path","certificate_key_type":"path","verify":false,"ca_certificates":[` + strangerPEM + `]}`,
	} {
		before := stranger.conns.Load()
		tg := startTransportGateway(t, mtlsCamelChain("", mtls, `{"https_proxy":"https://`+stranger.srv.Listener.Addr().String()+`"}`), proxied(up), cfg)
		a := call(t, "GET", tg.base+"/test?user_key=premium-key", nil)
		assert.Equal(t, http.StatusBadGateway, a.status, "%s: %s", name, a.body)
		assert.Greater(t, stranger.conns.Load(), before, "%s: the gateway dialed the proxy, and refused it at the handshake", name)
		assert.Empty(t, stranger.seen, "%s: nothing past the handshake", name)
		assert.Empty(t, got, name)

		tg.setChain(t, mtlsCamelChain("", mtls, `{"https_proxy":"https://`+trusted.srv.Listener.Addr().String()+`"}`))
		a = call(t, "GET", tg.base+"/test?user_key=premium-key", nil)
		require.Equal(t, http.StatusOK, a.status, "%s: %s", name, a.body)
		assert.True(t, trusted.next(t).tls, name)
		assert.Equal(t, "app-secret", within(t, got).Header.Get(secretTokenHeader), name)
	}
}

// camel's https proxy gets no client certificate: neither upstream_mtls's
// (the upstream's, a different party) nor the agent's
// --upstream-client-cert, even when the proxy asks for one. The request
// works, and upstream_mtls's certificate still goes where it is meant to:
// to a loopback upstream, which the gateway reaches itself.
func TestCamelHTTPSProxyGetsNoClientCertificate(t *testing.T) {
	certs := newTestCerts(t)
	far, farGot := proxiedHTTPSUpstream(t, certs)
	near := startTLSUpstream(t, certs, true, nil)

	forward := startForwardProxy(t, nil, certs.pool) // its forwarding, behind the TLS listener below
	peerCerts := make(chan int, 10)
	proxy := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peerCerts <- len(r.TLS.PeerCertificates)
		forward.ServeHTTP(w, r)
	}))
	proxyCert, proxyKey, _ := certs.issue(t, pki.RoleServer, "camel")
	pair, err := tls.LoadX509KeyPair(proxyCert, proxyKey)
	require.NoError(t, err)
	proxy.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, ClientAuth: tls.RequestClientCert, MinVersion: tls.VersionTLS12}
	proxy.StartTLS()
	t.Cleanup(proxy.Close)

	agentCert, agentKey, _ := certs.issue(t, pki.RoleClient, "agent-client")
	policyCert, policyKey, policyLeaf := certs.issue(t, pki.RoleClient, "policy-client")
	mtls := `{"certificate_type":"path","certificate":` + jsonString(policyCert) + `,"certificate_key_type":"path","certificate_key":` + jsonString(policyKey) + `}`
	farRule := `{"name":"upstream","version":"builtin","enabled":true,"configuration":{"rules":[{"regex":"^/far","url":"` + proxied(far) + `"}]}}`
	tg := startTransportGateway(t, mtlsCamelChain(farRule, mtls, `{"https_proxy":"https://`+proxy.Listener.Addr().String()+`"}`), near.srv.URL,
		Config{TLS: TLS{UpstreamCAFile: certs.caFile, UpstreamCertFile: agentCert, UpstreamKeyFile: agentKey}})

	for range 2 {
		a := call(t, "GET", tg.base+"/far?user_key=premium-key", nil)
		require.Equal(t, http.StatusOK, a.status, a.body)
		assert.Equal(t, "secure app", a.body)
		assert.Equal(t, 0, within(t, peerCerts), "the proxy asked for a client certificate and got none")
		seen := forward.next(t)
		assert.Equal(t, proxied(far)+"/far?user_key=premium-key", seen.target)
		assert.Equal(t, "app-secret", within(t, farGot).Header.Get(secretTokenHeader))
	}

	a := call(t, "GET", tg.base+"/near?user_key=premium-key", nil)
	require.Equal(t, http.StatusOK, a.status, a.body)
	assert.Equal(t, policyLeaf.SerialNumber.String(), within(t, near.serials), "upstream_mtls's certificate, to the upstream the gateway reaches itself")
	assert.Empty(t, peerCerts, "the loopback upstream is reached directly")
}
