package gateway

import (
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/agent/gateway/policy"
	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/pki"
)

// grpcMessage is one length-prefixed gRPC message (uncompressed).
var grpcMessage = []byte("\x00\x00\x00\x00\x05hello")

// grpcEcho answers a gRPC call as grpc-go does: application/grpc, the
// message back, grpc-status and grpc-message as trailers it did not
// announce (HEADERS after the DATA).
func grpcEcho(got chan *http.Request) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- r
		w.Header().Set("Content-Type", "application/grpc")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
		w.Header().Set(http.TrailerPrefix+"Grpc-Status", "0")
		w.Header().Set(http.TrailerPrefix+"Grpc-Message", "echoed")
	}
}

// grpcCall makes a unary gRPC call through the gateway and returns the
// answer, its body read (so its trailers are in).
func grpcCall(t *testing.T, c *http.Client, url string, header http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("POST", url, bytes.NewReader(grpcMessage))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/grpc")
	req.Header.Set("Te", "trailers")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, body
}

const grpcChain = `[{"name":"grpc","version":"builtin","enabled":true,"configuration":{}},
	{"name":"apicast","version":"builtin","enabled":true,"configuration":{}}]`

// The manifest: "To enable full HTTP2 traffic from the user to the final
// endpoint"; "GRPC on APICast": "HTTP2 is only enabled in the TLS port" and
// "The GRPC endpoint server should also listen in TLS". A gRPC client
// speaks HTTP/2 over TLS to the gateway, which speaks HTTP/2 over TLS to
// the upstream; the answer's trailers (grpc-status) reach the client; the
// secret token goes as APIcast's grpc location sends it
// (X-3scale-grpc-secret-token), a client's forged copy never; the calls
// share one upstream connection.
func TestGRPCRelaysTrailersOverHTTP2EndToEnd(t *testing.T) {
	certs := newTestCerts(t)
	got := make(chan *http.Request, 10)
	up := startTLSUpstream(t, certs, false, grpcEcho(got))
	gwCert, gwKey, _ := certs.issue(t, pki.RoleServer, "gateway")
	tg := startTransportGateway(t, grpcChain, up.srv.URL, Config{TLS: TLS{CertFile: gwCert, KeyFile: gwKey, UpstreamCAFile: certs.caFile}})
	client := tlsClient(certs.pool, true)

	for range 3 {
		resp, body := grpcCall(t, client, tg.base+"/pkg.Echo/Say?user_key=premium-key", http.Header{grpcSecretTokenHeader: {"forged"}})
		require.Equal(t, 200, resp.StatusCode, string(body))
		assert.Equal(t, 2, resp.ProtoMajor, "HTTP/2 from the client")
		assert.Equal(t, "application/grpc", resp.Header.Get("Content-Type"))
		assert.Equal(t, grpcMessage, body)
		assert.Equal(t, "0", resp.Trailer.Get("Grpc-Status"), "grpc-status came back as a trailer")
		assert.Equal(t, "echoed", resp.Trailer.Get("Grpc-Message"))
		r := within(t, got)
		assert.Equal(t, 2, r.ProtoMajor, "HTTP/2 to the upstream")
		assert.Equal(t, "trailers", r.Header.Get("Te"))
		assert.Equal(t, []string{"app-secret"}, r.Header.Values(grpcSecretTokenHeader), "the service's token, not the client's")
		assert.Equal(t, "app-secret", r.Header.Get(secretTokenHeader))
		within(t, up.serials)
	}
	assert.Equal(t, int32(1), up.conns.Load(), "one HTTP/2 connection for every call")

	// A service without a secret token: neither header goes upstream,
	// whatever the client sent (as the lean forwarder drops a client's
	// X-3scale-Proxy-Secret-Token).
	tg.f.proxy(t, func(p *composition.Proxy) { p.SecretToken = "" })
	tg.setChain(t, grpcChain)
	resp, _ := grpcCall(t, client, tg.base+"/pkg.Echo/Say?user_key=premium-key",
		http.Header{grpcSecretTokenHeader: {"forged"}, secretTokenHeader: {"forged"}})
	require.Equal(t, 200, resp.StatusCode)
	r := within(t, got)
	assert.Empty(t, r.Header.Values(grpcSecretTokenHeader), "a client's copy never reaches the upstream")
	assert.Empty(t, r.Header.Values(secretTokenHeader), "a client's copy never reaches the upstream")
}

// h2cUpstream is a gRPC server without TLS: HTTP/2 in clear, with prior
// knowledge, and nothing else.
func h2cUpstream(t *testing.T, got chan *http.Request) (*httptest.Server, *atomic.Int32) {
	var conns atomic.Int32
	s := httptest.NewUnstartedServer(grpcEcho(got))
	s.Config.Protocols = new(http.Protocols)
	s.Config.Protocols.SetUnencryptedHTTP2(true)
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s, &conns
}

// An http:// upstream gets HTTP/2 in clear (h2c, prior knowledge), the way
// a gRPC server listens without TLS beside the agent; a client of the
// gateway's h2c (--gateway-h2c) gets the trailers. Without the policy the
// gateway speaks HTTP/1.1, which such a server does not take.
func TestGRPCSpeaksH2CToAPlainUpstream(t *testing.T) {
	got := make(chan *http.Request, 10)
	up, conns := h2cUpstream(t, got)
	tg := startTransportGateway(t, grpcChain, up.URL, Config{TLS: TLS{H2C: true}})
	client := h2cClient()
	for range 3 {
		resp, body := grpcCall(t, client, tg.base+"/pkg.Echo/Say?user_key=premium-key", nil)
		require.Equal(t, 200, resp.StatusCode, string(body))
		assert.Equal(t, grpcMessage, body)
		assert.Equal(t, "0", resp.Trailer.Get("Grpc-Status"))
		assert.Equal(t, 2, within(t, got).ProtoMajor)
	}
	assert.Equal(t, int32(1), conns.Load(), "one h2c connection for every call")

	tg.setChain(t, plainChain)
	resp, _ := grpcCall(t, client, tg.base+"/pkg.Echo/Say?user_key=premium-key", nil)
	assert.Equal(t, 502, resp.StatusCode, "HTTP/1.1 to an h2c-only server")
}

// "The only work needed in APICast to enable full GRPC traffic is to
// enable the GRPC policy in the given service, so the protocol used will
// be full HTTP2": an https upstream that does not choose HTTP/2 by ALPN is
// not spoken to in HTTP/1.1 instead: 502.
func TestGRPCRefusesAnUpstreamThatDoesNotChooseHTTP2(t *testing.T) {
	certs := newTestCerts(t)
	certFile, keyFile, _ := certs.issue(t, pki.RoleServer, "upstream")
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	require.NoError(t, err)
	app := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "http/1.1 app") })
	// One upstream refuses the handshake when offered h2 alone
	// (http/1.1 by ALPN); the other takes no ALPN at all and would answer
	// HTTP/1.1 on the connection.
	refusing := httptest.NewUnstartedServer(app)
	refusing.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, NextProtos: []string{"http/1.1"}}
	refusing.StartTLS()
	t.Cleanup(refusing.Close)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}})
	require.NoError(t, err)
	noALPN := &http.Server{Handler: app, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = noALPN.Serve(ln) }()
	t.Cleanup(func() { _ = noALPN.Close() })

	for _, up := range []string{refusing.URL, "https://" + ln.Addr().String()} {
		tg := startTransportGateway(t, grpcChain, up, Config{TLS: TLS{UpstreamCAFile: certs.caFile}})
		assert.Equal(t, 502, call(t, "GET", tg.base+"/?user_key=premium-key", nil).status, up)
		tg.setChain(t, plainChain)
		assert.Equal(t, 200, call(t, "GET", tg.base+"/?user_key=premium-key", nil).status, "without grpc, HTTP/1.1 will do: %s", up)
	}
}

// The transport policies add up: upstream_mtls's certificate is presented
// to a mutual-TLS gRPC upstream reached through http_proxy's CONNECT
// tunnel, in HTTP/2, the trailers coming back.
func TestGRPCWithUpstreamMTLSThroughHTTPProxy(t *testing.T) {
	certs := newTestCerts(t)
	got := make(chan *http.Request, 10)
	up := startTLSUpstream(t, certs, true, grpcEcho(got))
	proxy := startForwardProxy(t, nil, nil)
	clientCert, clientKey, leaf := certs.issue(t, pki.RoleClient, "policy-client")
	chain := `[{"name":"upstream_mtls","version":"builtin","enabled":true,"configuration":{"certificate_type":"path","certificate":` + jsonString(clientCert) +
		`,"certificate_key_type":"path","certificate_key":` + jsonString(clientKey) + `,"ca_certificates":[` + jsonString(string(certs.ca.CertPEM())) + `]}},
		{"name":"http_proxy","version":"builtin","enabled":true,"configuration":{"all_proxy":"` + proxy.url + `"}},
		{"name":"grpc","version":"builtin","enabled":true,"configuration":{}},
		{"name":"apicast","version":"builtin","enabled":true,"configuration":{}}]`
	tg := startTransportGateway(t, chain, proxied(up.srv), Config{TLS: TLS{H2C: true}}) // a loopback upstream is never proxied
	for range 2 {
		resp, body := grpcCall(t, h2cClient(), tg.base+"/pkg.Echo/Say?user_key=premium-key", nil)
		require.Equal(t, 200, resp.StatusCode, string(body))
		assert.Equal(t, "0", resp.Trailer.Get("Grpc-Status"))
		assert.Equal(t, 2, within(t, got).ProtoMajor)
		assert.Equal(t, leaf.SerialNumber.String(), within(t, up.serials))
	}
	assert.Equal(t, http.MethodConnect, proxy.next(t).method)
	assert.Empty(t, proxy.seen, "one tunnel")

	// h2c has no proxy form: grpc to an http upstream through http_proxy is 502.
	plain, _ := h2cUpstream(t, got)
	tg2 := startTransportGateway(t, `[{"name":"http_proxy","version":"builtin","enabled":true,"configuration":{"all_proxy":"`+proxy.url+`"}},`+grpcChain[1:], proxied(plain), Config{})
	assert.Equal(t, 502, call(t, "GET", tg2.base+"/?user_key=premium-key", nil).status)
	assert.Empty(t, proxy.seen)
}

// The policy has no configuration; a chain with it builds at home as on
// the agent.
func TestGRPCTakesNoConfiguration(t *testing.T) {
	for _, conf := range []string{`{}`, `null`, `{"anything":1}`} {
		_, err := policy.Build(policyChain(t, proxyChain("grpc", conf)), nil, &policy.Env{Metrics: policy.NewMetrics(prometheus.NewRegistry())})
		assert.NoError(t, err, conf)
	}
	assert.NoError(t, policy.Validate(policyChain(t, grpcChain)))
}
