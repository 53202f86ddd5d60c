package gateway

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
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

// proxySeen is what the test's forward proxy saw of a request.
type proxySeen struct {
	method, target, host, proxyAuth string
	tls                             bool // the request came to the proxy over TLS
}

// forwardProxy is a real forward proxy the tests run: CONNECT opens a
// tunnel to the target; a request in absolute form is sent on (http, and
// https as camel sends it: the proxy speaks TLS with the upstream, trusting
// the test CA). It records each request it got and counts its
// connections. It resolves proxiedHost to 127.0.0.1.
type forwardProxy struct {
	srv   *httptest.Server
	url   string
	seen  chan proxySeen
	conns atomic.Int32
	out   *http.Client // what the proxy forwards with
}

// startForwardProxy runs the proxy, over TLS with a certificate of certs
// when tlsCerts is set; trust verifies https upstreams it forwards to.
func startForwardProxy(t *testing.T, tlsCerts *testCerts, trust *x509.CertPool) *forwardProxy {
	t.Helper()
	p := &forwardProxy{seen: make(chan proxySeen, 100),
		out: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: trust, MinVersion: tls.VersionTLS12}, ForceAttemptHTTP2: true, DialContext: dialTestHost},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	p.srv = httptest.NewUnstartedServer(p)
	p.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			p.conns.Add(1)
		}
	}
	if tlsCerts != nil {
		certFile, keyFile, _ := tlsCerts.issue(t, pki.RoleServer, "proxy")
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		require.NoError(t, err)
		p.srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
		p.srv.StartTLS()
	} else {
		p.srv.Start()
	}
	t.Cleanup(p.srv.Close)
	p.url = p.srv.URL
	return p
}

func (p *forwardProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.seen <- proxySeen{method: r.Method, target: r.RequestURI, host: r.Host, proxyAuth: r.Header.Get("Proxy-Authorization"), tls: r.TLS != nil}
	if r.Method == http.MethodConnect {
		p.tunnel(w, r)
		return
	}
	if !r.URL.IsAbs() {
		http.Error(w, "a proxy takes absolute-form requests", http.StatusBadRequest)
		return
	}
	out := r.Clone(r.Context())
	out.RequestURI = ""
	out.Header.Del("Proxy-Connection")
	resp, err := p.out.Transport.RoundTrip(out)
	if err != nil {
		http.Error(w, "proxy: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.Header().Set("X-Via-Test-Proxy", "1")
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// tunnel answers CONNECT: 200, then bytes both ways until either side
// closes.
func (p *forwardProxy) tunnel(w http.ResponseWriter, r *http.Request) {
	dst, err := dialTestHost(r.Context(), "tcp", r.Host)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		_ = dst.Close()
		return
	}
	_, _ = conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(dst, brw); done <- struct{}{} }()
	go func() { _, _ = io.Copy(conn, dst); done <- struct{}{} }()
	<-done
	_ = conn.Close()
	_ = dst.Close()
	<-done
}

// next is what the proxy saw of the next request, or fails the test.
func (p *forwardProxy) next(t *testing.T) proxySeen {
	t.Helper()
	return within(t, p.seen)
}

// within is the next value of ch, or fails the test when none comes in
// time (a test never hangs on what did not happen).
func within[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		require.FailNow(t, "nothing came in 5s")
		var zero T
		return zero
	}
}

// transportGateway is the test gateway with a chain in front of an
// upstream, whose chain the test may change.
type transportGateway struct {
	f    *gatewayFixture
	g    *Gateway
	base string // http:// or, with cfg.TLS's certificate, https://
	reg  *prometheus.Registry
}

func startTransportGateway(t *testing.T, chainJSON, upstream string, cfg Config) *transportGateway {
	t.Helper()
	f := newGatewayFixture(t, backendUserKey)
	f.proxy(t, func(p *composition.Proxy) {
		p.PolicyChain = policyChain(t, chainJSON)
		p.SecretToken = "app-secret"
	})
	require.NoError(t, f.tx.Create(&composition.MappingRule{OwnerType: composition.OwnerService, OwnerID: f.svc.ID,
		MetricID: f.hits.ID, HTTPMethod: "POST", Pattern: "/", Delta: 1})) // gRPC calls are POSTs
	g, base, reg := startTestGateway(t, f, upstream, f.placement(f.basic, f.premium), cfg)
	if cfg.TLS.CertFile != "" {
		base = "https://" + strings.TrimPrefix(base, "http://")
	}
	return &transportGateway{f: f, g: g, base: base, reg: reg}
}

// setChain gives the service another chain, as a new composition revision.
func (tg *transportGateway) setChain(t *testing.T, chainJSON string) {
	t.Helper()
	tg.f.proxy(t, func(p *composition.Proxy) { p.PolicyChain = policyChain(t, chainJSON) })
	updated, err := tg.g.Update(agentView(t, tg.f.tx.Result(), tg.f.svc.SystemName), tg.f.placement(tg.f.basic, tg.f.premium))
	require.NoError(t, err)
	require.True(t, updated)
}

// countingUpstream is an echo upstream ("app") that counts its connections.
func countingUpstream(t *testing.T) (*httptest.Server, chan *http.Request, *atomic.Int32) {
	got := make(chan *http.Request, 100)
	var conns atomic.Int32
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		got <- r
		_, _ = io.WriteString(w, "app")
	}))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s, got, &conns
}

func proxyChain(policyName, conf string) string {
	return `[{"name":"` + policyName + `","version":"builtin","enabled":true,"configuration":` + conf + `},
		{"name":"apicast","version":"builtin","enabled":true,"configuration":{}}]`
}

const plainChain = `[{"name":"apicast","version":"builtin","enabled":true,"configuration":{}}]`

// The manifest: "With this policy all the traffic for this service will be
// routed accross the defined proxy". As APIcast (t/apicast-policy-http-proxy.t,
// "API backend connection uses http proxy"), a request to an http upstream
// goes to the proxy in absolute form, with the upstream's Host header; its
// connection to the proxy is kept for the next requests.
func TestHTTPProxySendsHTTPUpstreamsInAbsoluteForm(t *testing.T) {
	up, got, _ := countingUpstream(t)
	proxy := startForwardProxy(t, nil, nil)
	tg := startTransportGateway(t, proxyChain("http_proxy", `{"http_proxy":"`+proxy.url+`"}`), proxied(up), Config{})

	for i := range 3 {
		a := call(t, "GET", tg.base+"/articles?user_key=premium-key", nil)
		require.Equal(t, 200, a.status, a.body)
		assert.Equal(t, "app", a.body)
		assert.Equal(t, "1", a.header.Get("X-Via-Test-Proxy"), "request %d went through the proxy", i)
		seen := proxy.next(t)
		assert.Equal(t, "GET", seen.method)
		assert.Equal(t, proxied(up)+"/articles?user_key=premium-key", seen.target, "absolute form")
		assert.Equal(t, proxiedAddr(up), seen.host, "the upstream's Host header")
		assert.Empty(t, seen.proxyAuth)
		assert.Equal(t, "app-secret", within(t, got).Header.Get(secretTokenHeader))
	}
	assert.Equal(t, int32(1), proxy.conns.Load(), "one connection to the proxy, kept and reused")
}

// https_proxy "Defines a HTTPS proxy to be used for connecting to HTTPS
// services": an https upstream is reached in a CONNECT tunnel, TLS with the
// upstream inside it verified against --upstream-ca-file (the agent's
// settings keep applying), HTTP/2 when the upstream offers it.
func TestHTTPProxyTunnelsHTTPSUpstreamsWithCONNECT(t *testing.T) {
	certs := newTestCerts(t)
	up, got := proxiedHTTPSUpstream(t, certs)
	proxy := startForwardProxy(t, nil, nil)
	tg := startTransportGateway(t, proxyChain("http_proxy", `{"https_proxy":"`+proxy.url+`"}`), proxied(up), Config{TLS: TLS{UpstreamCAFile: certs.caFile}})

	for range 3 {
		a := call(t, "GET", tg.base+"/articles?user_key=premium-key", nil)
		require.Equal(t, 200, a.status, a.body)
		assert.Equal(t, "secure app", a.body)
		r := within(t, got)
		assert.NotNil(t, r.TLS, "TLS with the upstream, inside the tunnel")
		assert.Equal(t, 2, r.ProtoMajor, "HTTP/2 inside the tunnel to an upstream that offers it")
	}
	seen := proxy.next(t)
	assert.Equal(t, http.MethodConnect, seen.method)
	assert.Equal(t, proxiedAddr(up), seen.target)
	assert.Empty(t, proxy.seen, "one tunnel for the three requests")

	// The tunnel does not make the upstream trusted: without the CA, 502.
	untrusted := startTransportGateway(t, proxyChain("http_proxy", `{"https_proxy":"`+proxy.url+`"}`), proxied(up), Config{})
	assert.Equal(t, 502, call(t, "GET", untrusted.base+"/articles?user_key=premium-key", nil).status)
}

// The README: "If http_proxy or https_proxy is not defined the all_proxy
// will be taken" (and APIcast's all_proxy tests); an upstream whose scheme
// has no proxy is reached directly.
func TestHTTPProxyAllProxyStandsForTheSchemeNotGiven(t *testing.T) {
	up, got, _ := countingUpstream(t)
	all := startForwardProxy(t, nil, nil)
	specific := startForwardProxy(t, nil, nil)

	tg := startTransportGateway(t, proxyChain("http_proxy", `{"all_proxy":"`+all.url+`"}`), proxied(up), Config{})
	require.Equal(t, 200, call(t, "GET", tg.base+"/?user_key=premium-key", nil).status)
	assert.Equal(t, proxied(up)+"/?user_key=premium-key", all.next(t).target)
	within(t, got)

	tg.setChain(t, proxyChain("http_proxy", `{"all_proxy":"`+all.url+`","http_proxy":"`+specific.url+`"}`))
	require.Equal(t, 200, call(t, "GET", tg.base+"/?user_key=premium-key", nil).status)
	assert.Equal(t, "GET", specific.next(t).method, "http_proxy wins over all_proxy for http upstreams")
	within(t, got)

	// No proxy for http upstreams: the gateway dials the upstream itself,
	// by a name only the proxies resolve.
	tg.setChain(t, proxyChain("http_proxy", `{"https_proxy":"`+specific.url+`"}`))
	a := call(t, "GET", tg.base+"/?user_key=premium-key", nil)
	assert.Equal(t, 502, a.status, "no proxy for http upstreams: direct")
	assert.Empty(t, all.seen)
	assert.Empty(t, specific.seen)
}

// The connections through the proxy belong to the chain that asked for
// them: once the service's chain drops the policy, requests reach the
// upstream directly again (the gateway's own upstream, its lean
// forwarder), and never through the proxy's pooled connection.
func TestHTTPProxyConnectionsAreNotSharedWithRequestsWithoutIt(t *testing.T) {
	up, got, upConns := countingUpstream(t)
	proxy := startForwardProxy(t, nil, nil)
	// The upstream policy chooses the same upstream in both chains, so the
	// gateway's policyUpstream cache holds an upstream of the same host.
	route := `{"name":"upstream","version":"builtin","enabled":true,"configuration":{"rules":[{"regex":"/","url":"` + proxied(up) + `"}]}}`
	withProxy := `[` + route + `,{"name":"http_proxy","version":"builtin","enabled":true,"configuration":{"all_proxy":"` + proxy.url + `"}},
		{"name":"apicast","version":"builtin","enabled":true,"configuration":{}}]`
	tg := startTransportGateway(t, withProxy, proxied(up), Config{})
	for range 2 {
		a := call(t, "GET", tg.base+"/?user_key=premium-key", nil)
		require.Equal(t, 200, a.status, a.body)
		assert.Equal(t, "1", a.header.Get("X-Via-Test-Proxy"))
		proxy.next(t)
		within(t, got)
	}
	require.Equal(t, int32(1), upConns.Load(), "the proxy's one connection to the upstream")

	// Without the policy the gateway dials the upstream itself, by a name
	// only the proxy resolves: 502, where the proxy's pooled connection
	// would have answered.
	tg.setChain(t, `[`+route+`,{"name":"apicast","version":"builtin","enabled":true,"configuration":{}}]`)
	for range 2 {
		a := call(t, "GET", tg.base+"/?user_key=premium-key", nil)
		assert.Equal(t, 502, a.status, "without the policy: straight to the upstream, never the proxy's connection")
	}
	assert.Empty(t, proxy.seen, "the proxy saw nothing of the requests without the policy")
	assert.Equal(t, int32(1), upConns.Load(), "the proxy's connection alone")

	tg.setChain(t, plainChain)
	a := call(t, "GET", tg.base+"/?user_key=premium-key", nil)
	assert.Equal(t, 502, a.status, a.body)
	assert.Empty(t, proxy.seen)
}

// A proxy that cannot be reached fails the request as an unreachable
// upstream does: 502.
func TestHTTPProxyUnreachableProxyIs502(t *testing.T) {
	up, _, _ := countingUpstream(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close())
	tg := startTransportGateway(t, proxyChain("http_proxy", `{"all_proxy":"`+dead+`"}`), proxied(up), Config{})
	a := call(t, "GET", tg.base+"/?user_key=premium-key", nil)
	assert.Equal(t, 502, a.status)
	assert.Equal(t, "Upstream unavailable\n", a.body)
}

// Configuration errors name the field. "Authentication is not supported"
// (the manifest): credentials in a proxy URL are refused rather than sent.
// APIcast's resty.http.proxy: "proxy connection supports only http". No
// proxy setting may lead to a link-local address (cloud metadata).
func TestHTTPProxyConfigErrorsNameTheField(t *testing.T) {
	for conf, want := range map[string][2]string{
		`{"http_proxy":"http://user:s3cr3t@proxy:3128"}`: {"http_proxy", "not supported"},
		`{"all_proxy":"http://s3cr3t@proxy:3128"}`:       {"all_proxy", "not supported"},
		`{"https_proxy":"https://proxy:3128"}`:           {"https_proxy", "plain HTTP only"},
		`{"all_proxy":"socks5://proxy:1080"}`:            {"all_proxy", "http://"},
		`{"http_proxy":"http://169.254.169.254"}`:        {"http_proxy", "link-local"},
		`{"https_proxy":"http://[fe80::1]:3128"}`:        {"https_proxy", "link-local"},
		`{"https_proxy":"http://[fd00:ec2::254]"}`:       {"https_proxy", "link-local"},
		`{"all_proxy":"http://0.0.0.0:3128"}`:            {"all_proxy", "unspecified"},
		`{"all_proxy":"http://:3128"}`:                   {"all_proxy", "no host"},
		`{"all_proxy":"http://proxy:99999"}`:             {"all_proxy", "port"},
		`{"all_proxy":3128}`:                             {"all_proxy", "a string"},
	} {
		chain := policyChain(t, proxyChain("http_proxy", conf))
		_, err := policy.Build(chain, nil, &policy.Env{Metrics: policy.NewMetrics(prometheus.NewRegistry())})
		var fe *policy.FieldError
		if assert.ErrorAs(t, err, &fe, conf) {
			assert.Equal(t, want[0], fe.Field, conf)
			assert.Contains(t, fe.Problem, want[1], conf)
			assert.NotContains(t, fe.Problem, "s3cr3t", "a credential is never repeated: %s", conf)
		}
	}
	for _, conf := range []string{`{}`, `{"all_proxy":""}`, `{"http_proxy":"http://proxy.example:3128/"}`, `{"all_proxy":"http://10.0.0.1"}`} {
		_, err := policy.Build(policyChain(t, proxyChain("http_proxy", conf)), nil, &policy.Env{Metrics: policy.NewMetrics(prometheus.NewRegistry())})
		assert.NoError(t, err, conf)
	}
}

// The dialer of proxies refuses a link-local, multicast or unspecified
// address whatever name led there (a proxy's name resolving to the
// metadata service), and lets others through.
func TestProxyDialerRefusesLinkLocalAddresses(t *testing.T) {
	for addr, refused := range map[string]bool{
		"169.254.169.254:80": true, "[fe80::1]:3128": true, "[fd00:ec2::254]:80": true, "0.0.0.0:80": true,
		"[::ffff:169.254.169.254]:80": true, "224.0.0.1:80": true,
		"127.0.0.1:3128": false, "10.1.2.3:8080": false, "[::1]:80": false,
	} {
		err := refuseForbiddenProxy("tcp4", addr, nil)
		assert.Equal(t, refused, err != nil, addr)
	}
}

// An HTTP/1.1 CONNECT, raw: what the gateway writes to the proxy, read by
// a listener that answers nothing, holds the target and no credential.
func TestHTTPProxyCONNECTCarriesNoCredentials(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	heads := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		br := bufio.NewReader(c)
		var head strings.Builder
		for {
			line, err := br.ReadString('\n')
			head.WriteString(line)
			if err != nil || line == "\r\n" {
				break
			}
		}
		heads <- head.String()
		_, _ = io.WriteString(c, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
	}()
	tg := startTransportGateway(t, proxyChain("http_proxy", `{"https_proxy":"http://`+ln.Addr().String()+`"}`), "https://upstream.example:8443", Config{})
	a := call(t, "GET", tg.base+"/?user_key=premium-key", http.Header{"Authorization": {"Basic c2VjcmV0"}})
	assert.Equal(t, 502, a.status, "the proxy refused the tunnel")
	head := within(t, heads)
	assert.True(t, strings.HasPrefix(head, "CONNECT upstream.example:8443 HTTP/1.1\r\n"), head)
	assert.NotContains(t, head, "Authorization", "nothing of the request but its target goes to the proxy in clear")
}

// The proxy is set in the access phase, which nothing but an answer skips:
// echo's exit "phase" ("Skip only the rewrite phase") cannot send a request
// routed to its upstream around the proxy the service asked for.
func TestHTTPProxyHoldsPastEchosSkippedRewritePhase(t *testing.T) {
	up, got, _ := countingUpstream(t)
	proxy := startForwardProxy(t, nil, nil)
	chain := `[{"name":"routing","version":"builtin","enabled":true,"configuration":{"rules":[{"url":"` + proxied(up) + `","condition":{"operations":[{"match":"path","op":"==","value":"/"}]}}]}},
		{"name":"echo","version":"builtin","enabled":true,"configuration":{"exit":"phase"}},
		{"name":"http_proxy","version":"builtin","enabled":true,"configuration":{"all_proxy":"` + proxy.url + `"}},
		{"name":"apicast","version":"builtin","enabled":true,"configuration":{}}]`
	tg := startTransportGateway(t, chain, up.URL, Config{})
	a := call(t, "GET", tg.base+"/?user_key=premium-key", nil)
	require.Equal(t, 200, a.status, a.body)
	assert.Equal(t, "app", a.body, "routed to the upstream, not echoed")
	assert.Equal(t, "1", a.header.Get("X-Via-Test-Proxy"))
	assert.Equal(t, proxied(up)+"/?user_key=premium-key", proxy.next(t).target)
	within(t, got)
}

// net/http dials a proxy at the IDNA (punycode) form of its name, and the
// gateway guards the dial by that address: a host in Unicode would be
// guarded under one spelling and dialed under another. So a proxy's host
// must be written in ASCII, the error saying how; and the guard's address
// of a name is the one net/http dials.
func TestHTTPProxyRefusesNonASCIIProxyHosts(t *testing.T) {
	for _, name := range []string{"http_proxy", "camel"} {
		for conf, field := range map[string]string{
			`{"all_proxy":"http://bücher.example:3128"}`:     "all_proxy",
			`{"http_proxy":"http://b%C3%BCcher.example:80"}`: "http_proxy",
		} {
			_, err := policy.Build(policyChain(t, proxyChain(name, conf)), nil, &policy.Env{Metrics: policy.NewMetrics(prometheus.NewRegistry())})
			var fe *policy.FieldError
			if assert.ErrorAs(t, err, &fe, "%s %s", name, conf) {
				assert.Equal(t, field, fe.Field, conf)
				assert.Contains(t, fe.Problem, "give the host in ASCII (punycode", conf)
			}
		}
	}
	_, err := policy.Build(policyChain(t, proxyChain("http_proxy", `{"all_proxy":"http://xn--bcher-kva.example:3128"}`)), nil, &policy.Env{Metrics: policy.NewMetrics(prometheus.NewRegistry())})
	assert.NoError(t, err, "the punycode form")

	for _, raw := range []string{"http://bücher.example:3128", "http://Proxy.Example"} {
		u, err := url.Parse(raw)
		require.NoError(t, err)
		dialed := make(chan string, 1)
		tr := &http.Transport{
			Proxy: http.ProxyURL(u),
			DialContext: func(_ context.Context, _, addr string) (net.Conn, error) {
				dialed <- addr
				return nil, errors.New("not dialed")
			},
		}
		req, err := http.NewRequest("GET", "http://upstream.example/", nil)
		require.NoError(t, err)
		_, _ = tr.RoundTrip(req)
		assert.Equal(t, within(t, dialed), proxyAddr(u), "the guard knows the proxy by the address net/http dials: %s", raw)
	}
}
