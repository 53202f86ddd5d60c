package gateway

import (
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/agent/gateway/policy"
)

// APIcast's pull request that made the camel policy: "on TLS connections,
// the CONNECT method is not allowed, so the request needs to be terminated
// by camel-proxy and send to the upstream API"; t/apicast-policy-camel.t
// ("using HTTPS proxy for backend") has the upstream see the request with
// its Host and X-3scale-proxy-secret-token. So an https upstream's request
// goes to the proxy in absolute form, no CONNECT, and the proxy speaks TLS
// with the upstream: the gateway needs no CA of the upstream's. The proxy
// here is on loopback (a sidecar), where clear text may go; its connection
// is kept for the next requests.
func TestCamelSendsHTTPSUpstreamsInAbsoluteFormWithoutCONNECT(t *testing.T) {
	certs := newTestCerts(t)
	up, got := proxiedHTTPSUpstream(t, certs)
	proxy := startForwardProxy(t, nil, certs.pool)
	tg := startTransportGateway(t, proxyChain("camel", `{"https_proxy":"`+proxy.url+`"}`), proxied(up), Config{})

	for range 3 {
		a := call(t, "GET", tg.base+"/test?user_key=premium-key", http.Header{"Etag": {"foobar"}})
		require.Equal(t, 200, a.status, a.body)
		assert.Equal(t, "secure app", a.body)
		seen := proxy.next(t)
		assert.Equal(t, "GET", seen.method, "no CONNECT")
		assert.Equal(t, proxied(up)+"/test?user_key=premium-key", seen.target, "absolute form, the https scheme included")
		assert.Equal(t, proxiedAddr(up), seen.host)
		assert.False(t, seen.tls, "an http:// proxy URL: clear text, to loopback")
		r := within(t, got)
		assert.NotNil(t, r.TLS, "the proxy spoke TLS with the upstream")
		assert.Equal(t, proxiedAddr(up), r.Host)
		assert.Equal(t, "app-secret", r.Header.Get(secretTokenHeader))
		assert.Equal(t, "foobar", r.Header.Get("Etag"))
	}
	assert.Equal(t, int32(1), proxy.conns.Load(), "one connection to the proxy, kept and reused")

	tg.setChain(t, plainChain)
	assert.Equal(t, 502, call(t, "GET", tg.base+"/test?user_key=premium-key", nil).status, "without camel, the gateway reaches the upstream itself, by a name only the proxy resolves")
	assert.Empty(t, proxy.seen)
}

// t/apicast-policy-camel.t, "API backend connection uses http proxy" and
// "API backend using all_proxy": an http upstream's request goes to the
// proxy in absolute form with the upstream's Host header.
func TestCamelSendsHTTPUpstreamsInAbsoluteForm(t *testing.T) {
	up, got, _ := countingUpstream(t)
	proxy := startForwardProxy(t, nil, nil)
	for _, conf := range []string{`{"http_proxy":"` + proxy.url + `"}`, `{"all_proxy":"` + proxy.url + `"}`} {
		tg := startTransportGateway(t, proxyChain("camel", conf), proxied(up), Config{})
		a := call(t, "GET", tg.base+"/?user_key=premium-key", nil)
		require.Equal(t, 200, a.status, a.body)
		assert.Equal(t, "1", a.header.Get("X-Via-Test-Proxy"))
		seen := proxy.next(t)
		assert.Equal(t, "GET", seen.method, conf)
		assert.Equal(t, proxied(up)+"/?user_key=premium-key", seen.target, conf)
		assert.Equal(t, proxiedAddr(up), within(t, got).Host, conf)
	}
}

// 3scale's guide to Camel: "HTTPS_PROXY: Use the http protocol and TLS port
// to connect to the Camel HTTP proxy" and "APIcast establishes a new TLS
// session to connect to the Camel HTTP proxy". Here an https:// proxy URL
// says so: TLS with the proxy, verified against its name with the agent's
// CAs (--upstream-ca-file, or the system's; never upstream_mtls's, which
// are the upstream's); the request inside is in absolute form.
func TestCamelSpeaksTLSWithAnHTTPSProxy(t *testing.T) {
	certs := newTestCerts(t)
	up, got := proxiedHTTPSUpstream(t, certs)
	proxy := startForwardProxy(t, certs, certs.pool)
	tlsProxy := "https://" + proxy.srv.Listener.Addr().String()

	tg := startTransportGateway(t, proxyChain("camel", `{"https_proxy":"`+tlsProxy+`"}`), proxied(up), Config{TLS: TLS{UpstreamCAFile: certs.caFile}})
	a := call(t, "GET", tg.base+"/test?user_key=premium-key", nil)
	require.Equal(t, 200, a.status, a.body)
	seen := proxy.next(t)
	assert.True(t, seen.tls, "TLS with the proxy")
	assert.Equal(t, "GET", seen.method)
	assert.Equal(t, proxied(up)+"/test?user_key=premium-key", seen.target)
	within(t, got)

	untrusted := startTransportGateway(t, proxyChain("camel", `{"https_proxy":"`+tlsProxy+`"}`), proxied(up), Config{})
	assert.Equal(t, 502, call(t, "GET", untrusted.base+"/test?user_key=premium-key", nil).status, "a proxy whose certificate nothing trusts")
	assert.Empty(t, proxy.seen)

	withCAs := `[{"name":"upstream_mtls","version":"builtin","enabled":true,"configuration":{"certificate_type":"path","certificate_key_type":"path","ca_certificates":[` +
		jsonString(string(certs.ca.CertPEM())) + `]}},
		{"name":"camel","version":"builtin","enabled":true,"configuration":{"https_proxy":"` + tlsProxy + `"}},
		{"name":"apicast","version":"builtin","enabled":true,"configuration":{}}]`
	untrusted.setChain(t, withCAs)
	a = call(t, "GET", untrusted.base+"/test?user_key=premium-key", nil)
	assert.Equal(t, 502, a.status, "upstream_mtls's CAs are the upstream's, not the proxy's: %s", a.body)
	assert.Empty(t, proxy.seen)
	assert.Empty(t, got)
}

// DESIGN: "HTTPS everywhere off loopback". camel sends an https upstream's
// requests without CONNECT, so an http:// proxy for them (https_proxy, or
// all_proxy standing for it) must be on loopback; any other is refused,
// naming the field and what to write instead. An http upstream is clear
// text to begin with: its proxy may be anywhere. As http_proxy, no
// credentials (t/apicast-policy-camel.t checks "the Proxy Authorization
// header is not sent": here it is refused outright) and no link-local
// address.
func TestCamelConfigErrorsNameTheField(t *testing.T) {
	for conf, want := range map[string][2]string{
		`{"https_proxy":"http://10.0.0.5:8443"}`:                          {"https_proxy", "https://10.0.0.5:8443"},
		`{"all_proxy":"http://camel-proxy.svc:8080"}`:                     {"all_proxy", "http_proxy instead of all_proxy"},
		`{"all_proxy":"http://camel:8080","http_proxy":"http://camel:1"}`: {"all_proxy", "https_proxy"},
		`{"https_proxy":"http://127.0.0.1.example.com:8080"}`:             {"https_proxy", "loopback"},
		`{"http_proxy":"http://foo:bar@127.0.0.1:8080"}`:                  {"http_proxy", "not supported"},
		`{"https_proxy":"https://foo:bar@camel:8443"}`:                    {"https_proxy", "not supported"},
		`{"https_proxy":"https://169.254.169.254"}`:                       {"https_proxy", "link-local"},
		`{"all_proxy":"ftp://camel"}`:                                     {"all_proxy", "http:// or https://"},
	} {
		_, err := policy.Build(policyChain(t, proxyChain("camel", conf)), nil, &policy.Env{Metrics: policy.NewMetrics(prometheus.NewRegistry())})
		var fe *policy.FieldError
		if assert.ErrorAs(t, err, &fe, conf) {
			assert.Equal(t, want[0], fe.Field, conf)
			assert.Contains(t, fe.Problem, want[1], conf)
			assert.NotContains(t, fe.Problem, "bar", conf)
		}
	}
	for _, conf := range []string{
		`{"https_proxy":"https://10.0.0.5:8443"}`,
		`{"http_proxy":"http://10.0.0.5:8080"}`,
		`{"http_proxy":"http://camel:8080","https_proxy":"https://camel:8443","all_proxy":"http://camel:8080"}`,
		`{"all_proxy":"http://localhost:8080"}`,
		`{"https_proxy":"http://127.0.0.2:8080"}`,
		`{"https_proxy":"http://[::1]:8080"}`,
		`{}`,
	} {
		_, err := policy.Build(policyChain(t, proxyChain("camel", conf)), nil, &policy.Env{Metrics: policy.NewMetrics(prometheus.NewRegistry())})
		assert.NoError(t, err, conf)
	}
}

// gRPC cannot go through camel (Camel takes HTTP/1.1 requests in absolute
// form; grpc asks for HTTP/2 to the upstream): the request is answered 502
// and nothing reaches the proxy.
func TestCamelWithGRPCIs502(t *testing.T) {
	up, _, _ := countingUpstream(t)
	proxy := startForwardProxy(t, nil, nil)
	chain := `[{"name":"grpc","version":"builtin","enabled":true,"configuration":{}},
		{"name":"camel","version":"builtin","enabled":true,"configuration":{"all_proxy":"` + proxy.url + `"}},
		{"name":"apicast","version":"builtin","enabled":true,"configuration":{}}]`
	tg := startTransportGateway(t, chain, proxied(up), Config{})
	a := call(t, "GET", tg.base+"/?user_key=premium-key", nil)
	assert.Equal(t, 502, a.status)
	assert.Empty(t, proxy.seen)
}

// As http_proxy's, camel's proxy is never on the way to a loopback
// upstream (Go's httpproxy and curl never proxy loopback): the app beside
// the agent is reached directly, https in TLS verified by the gateway, and
// the chain's other upstream settings hold (grpc's HTTP/2, which could not
// go through camel). A name still goes through the proxy.
func TestCamelNeverProxiesLoopbackUpstreams(t *testing.T) {
	up, got, _ := countingUpstream(t)
	proxy := startForwardProxy(t, nil, nil)
	far := `{"name":"upstream","version":"builtin","enabled":true,"configuration":{"rules":[{"regex":"^/far","url":"` + proxied(up) + `"}]}}`
	chain := `[` + far + `,{"name":"camel","version":"builtin","enabled":true,"configuration":{"http_proxy":"` + proxy.url + `"}},
		{"name":"apicast","version":"builtin","enabled":true,"configuration":{}}]`
	tg := startTransportGateway(t, chain, up.URL, Config{})
	a := call(t, "GET", tg.base+"/near?user_key=premium-key", nil)
	require.Equal(t, 200, a.status, a.body)
	assert.Empty(t, a.header.Get("X-Via-Test-Proxy"))
	assert.Equal(t, "app-secret", within(t, got).Header.Get(secretTokenHeader))
	assert.Empty(t, proxy.seen, "the proxy saw nothing of the loopback upstream")
	a = call(t, "GET", tg.base+"/far?user_key=premium-key", nil)
	require.Equal(t, 200, a.status, a.body)
	assert.Equal(t, proxied(up)+"/far?user_key=premium-key", proxy.next(t).target)
	within(t, got)

	certs := newTestCerts(t)
	secure, secureGot := proxiedHTTPSUpstream(t, certs)
	secureTG := startTransportGateway(t, proxyChain("camel", `{"https_proxy":"`+proxy.url+`"}`), secure.URL, Config{TLS: TLS{UpstreamCAFile: certs.caFile}})
	a = call(t, "GET", secureTG.base+"/?user_key=premium-key", nil)
	require.Equal(t, 200, a.status, a.body)
	assert.NotNil(t, within(t, secureGot).TLS, "TLS by the gateway itself")
	assert.Empty(t, proxy.seen)

	grpcGot := make(chan *http.Request, 10)
	h2c, _ := h2cUpstream(t, grpcGot)
	grpc := startTransportGateway(t, `[{"name":"camel","version":"builtin","enabled":true,"configuration":{"all_proxy":"`+proxy.url+`"}},`+grpcChain[1:], h2c.URL, Config{TLS: TLS{H2C: true}})
	resp, body := grpcCall(t, h2cClient(), grpc.base+"/pkg.Echo/Say?user_key=premium-key", nil)
	require.Equal(t, 200, resp.StatusCode, string(body))
	assert.Equal(t, 2, within(t, grpcGot).ProtoMajor)
	assert.Empty(t, proxy.seen)
}
