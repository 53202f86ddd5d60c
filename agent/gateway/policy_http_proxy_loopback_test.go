package gateway

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/pki"
)

// proxiedHost is the name of upstreams the tests reach through a proxy,
// which only the test's forward proxy resolves (to 127.0.0.1): the gateway
// reaches a loopback upstream directly, never through a proxy, so one to
// reach through the proxy is named otherwise, as APIcast's tests name
// theirs (test-upstream.lvh.me).
const proxiedHost = "upstream.example"

// proxied is s's URL with proxiedHost for its loopback address.
func proxied(s *httptest.Server) string {
	return s.URL[:strings.Index(s.URL, "://")+3] + proxiedAddr(s)
}

// proxiedAddr is s's host and port as proxied names them.
func proxiedAddr(s *httptest.Server) string {
	_, port, _ := net.SplitHostPort(s.Listener.Addr().String())
	return net.JoinHostPort(proxiedHost, port)
}

// dialTestHost dials as the test's forward proxy resolves: proxiedHost is
// 127.0.0.1.
func dialTestHost(ctx context.Context, network, addr string) (net.Conn, error) {
	if host, port, err := net.SplitHostPort(addr); err == nil && host == proxiedHost {
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	return (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, network, addr)
}

// proxiedPair is a server certificate of certs' CA for 127.0.0.1,
// localhost and proxiedHost.
func proxiedPair(t *testing.T, certs *testCerts) tls.Certificate {
	t.Helper()
	chain, key, err := certs.ca.Issue(pki.Leaf{Role: pki.RoleServer, DNSNames: []string{"localhost", proxiedHost}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}}, time.Now())
	require.NoError(t, err)
	pair, err := tls.X509KeyPair(chain, key)
	require.NoError(t, err)
	return pair
}

// proxiedHTTPSUpstream is an https upstream ("secure app", HTTP/2
// offered) whose certificate names proxiedHost too, and the requests it
// got.
func proxiedHTTPSUpstream(t *testing.T, certs *testCerts) (*httptest.Server, chan *http.Request) {
	got := make(chan *http.Request, 100)
	up := startTLSUpstream(t, certs, false, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		got <- r
		_, _ = io.WriteString(w, "secure app")
	})
	return up.srv, got
}

// Go's httpproxy and curl never proxy loopback, and the service's upstream
// is usually the app beside the agent (http://127.0.0.1:3000): sent to a
// proxy, maybe on another host, "GET http://127.0.0.1:3000/path" would
// reach the proxy's own loopback, with the client's credentials and the
// secret token. So a loopback upstream (an address of 127.0.0.0/8, ::1,
// or localhost) is reached directly, and any other name, even one that
// resolves to loopback, still through the proxy (the manifest: "all the
// traffic for this service will be routed accross the defined proxy").
func TestHTTPProxyNeverProxiesLoopbackUpstreams(t *testing.T) {
	up, got, _ := countingUpstream(t)
	proxy := startForwardProxy(t, nil, nil)
	_, port, _ := net.SplitHostPort(up.Listener.Addr().String())
	far := `{"name":"upstream","version":"builtin","enabled":true,"configuration":{"rules":[{"regex":"^/far","url":"` + proxied(up) + `"}]}}`
	for _, local := range []string{up.URL, "http://localhost:" + port} {
		chain := `[` + far + `,{"name":"http_proxy","version":"builtin","enabled":true,"configuration":{"all_proxy":"` + proxy.url + `"}},
			{"name":"apicast","version":"builtin","enabled":true,"configuration":{}}]`
		tg := startTransportGateway(t, chain, local, Config{})
		for range 2 {
			a := call(t, "GET", tg.base+"/near?user_key=premium-key", nil)
			require.Equal(t, 200, a.status, a.body)
			assert.Empty(t, a.header.Get("X-Via-Test-Proxy"), "%s: the app beside the agent, directly", local)
			assert.Equal(t, "app-secret", within(t, got).Header.Get(secretTokenHeader))
		}
		assert.Empty(t, proxy.seen, "%s: the proxy saw nothing of the loopback upstream", local)

		a := call(t, "GET", tg.base+"/far?user_key=premium-key", nil)
		require.Equal(t, 200, a.status, a.body)
		assert.Equal(t, "1", a.header.Get("X-Via-Test-Proxy"), "a name: through the proxy")
		assert.Equal(t, proxied(up)+"/far?user_key=premium-key", proxy.next(t).target)
		within(t, got)
	}

	// An https loopback upstream: no CONNECT, TLS with it directly,
	// verified as any https upstream is.
	certs := newTestCerts(t)
	secure, secureGot := proxiedHTTPSUpstream(t, certs)
	tg := startTransportGateway(t, proxyChain("http_proxy", `{"https_proxy":"`+proxy.url+`"}`), secure.URL, Config{TLS: TLS{UpstreamCAFile: certs.caFile}})
	a := call(t, "GET", tg.base+"/?user_key=premium-key", nil)
	require.Equal(t, 200, a.status, a.body)
	assert.NotNil(t, within(t, secureGot).TLS)
	assert.Empty(t, proxy.seen, "no CONNECT for a loopback upstream")
}

// gRPC to a loopback h2c upstream goes directly: the proxy, which h2c could
// not go through, is not on its way. The grpc policy's own settings hold.
func TestHTTPProxyLeavesGRPCToALoopbackUpstreamDirect(t *testing.T) {
	got := make(chan *http.Request, 10)
	up, _ := h2cUpstream(t, got)
	proxy := startForwardProxy(t, nil, nil)
	tg := startTransportGateway(t, `[{"name":"http_proxy","version":"builtin","enabled":true,"configuration":{"all_proxy":"`+proxy.url+`"}},`+grpcChain[1:], up.URL, Config{TLS: TLS{H2C: true}})
	resp, body := grpcCall(t, h2cClient(), tg.base+"/pkg.Echo/Say?user_key=premium-key", nil)
	require.Equal(t, 200, resp.StatusCode, string(body))
	assert.Equal(t, "0", resp.Trailer.Get("Grpc-Status"))
	assert.Equal(t, 2, within(t, got).ProtoMajor, "HTTP/2 in clear to the upstream")
	assert.Empty(t, proxy.seen)
}
