package gateway

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"sync"
	"syscall"
	"time"

	"golang.org/x/net/idna"

	"github.com/portolan/portolan/agent/gateway/policy"
)

// The upstreams of requests whose policies change how the upstream is
// reached (policy.Transport: upstream_mtls, http_proxy, camel, grpc). A
// request that sets no Transport never gets here and costs nothing more;
// one that does is forwarded through httputil.ReverseProxy over an
// http.Transport made for its Transport alone, so that connections opened
// with a policy's client certificate, through a proxy or in HTTP/2 are
// never handed to a request that did not ask for them.

// transportUpstreams keeps the upstreams made for Transports, keyed by the
// Transport's pointer (policies keep one per configuration across chains,
// policy.Transport says why) and the target, so that their connections are
// reused. Past maxPolicyUpstreams, those of other Transports (chains no
// longer running, most likely) are dropped, their idle connections closed.
type transportUpstreams struct {
	mu  sync.Mutex // serialises additions and evictions
	ups sync.Map   // transportKey → *upstream: read without a lock
	n   int        // entries of ups, under mu
	rts map[*policy.Transport]*policyRoundTripper
}

// transportKey is an upstream of a Transport: the target's scheme, host
// and path, and whether a policy chose it (the Host header it is sent).
type transportKey struct {
	tr                 *policy.Transport
	scheme, host, path string
	chosen             bool
}

// grpcSecretTokenHeader is where APIcast's grpc location sends the secret
// token (its http2.conf: grpc_set_header X-3scale-grpc-secret-token).
const grpcSecretTokenHeader = "X-3scale-Grpc-Secret-Token"

// transportUpstream returns the upstream that reaches base's target as tr
// says. A plain http target reached directly in HTTP/1.1 (upstream_mtls
// alone: no TLS to set up; or a loopback one, which no proxy gets) keeps
// base and its lean forwarder. A known one is found without a lock or an
// allocation.
func (g *Gateway) transportUpstream(tr *policy.Transport, base *upstream, chosen bool) *upstream {
	u := base.target
	if u == nil {
		return base
	}
	proxied := tr.Proxy != nil && !policy.Bypasses(u.Hostname())
	if !proxied && !tr.HTTP2 && u.Scheme != "https" {
		return base
	}
	key := transportKey{tr: tr, scheme: u.Scheme, host: u.Host, path: u.Path, chosen: chosen}
	if up, ok := g.transports.ups.Load(key); ok {
		return up.(*upstream)
	}
	return g.transports.add(g, key, u)
}

// add makes and keeps the upstream of key, unless another request just did.
func (ts *transportUpstreams) add(g *Gateway, key transportKey, u *url.URL) *upstream {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if up, ok := ts.ups.Load(key); ok {
		return up.(*upstream)
	}
	if ts.n >= maxPolicyUpstreams {
		ts.evict(key.tr)
	}
	if ts.rts == nil {
		ts.rts = map[*policy.Transport]*policyRoundTripper{}
	}
	rt := ts.rts[key.tr]
	if rt == nil {
		rt = g.newPolicyRoundTripper(key.tr)
		ts.rts[key.tr] = rt
	}
	up := &upstream{rp: g.proxyTo(u, key.chosen, rt), target: u}
	rewrite, grpc := up.rp.Rewrite, key.tr.HTTP2
	up.rp.Rewrite = func(pr *httputil.ProxyRequest) {
		rewrite(pr)
		var token []string
		if v := g.view.Load(); v != nil {
			token = v.secretToken
		}
		if token == nil {
			delete(pr.Out.Header, secretTokenHeader) // as the lean forwarder: a client's copy never goes
		}
		if grpc {
			delete(pr.Out.Header, grpcSecretTokenHeader)
			if token != nil {
				pr.Out.Header[grpcSecretTokenHeader] = token
			}
		}
	}
	ts.ups.Store(key, up)
	ts.n++
	return up
}

// evict makes room for an upstream of keep: the upstreams of other
// Transports go, and when keep's alone fill the bound, those too (its
// connections stay, in its round tripper).
func (ts *transportUpstreams) evict(keep *policy.Transport) {
	ts.ups.Range(func(k, _ any) bool {
		if k.(transportKey).tr != keep {
			ts.ups.Delete(k)
			ts.n--
		}
		return true
	})
	for tr, rt := range ts.rts {
		if tr != keep {
			rt.closeIdle()
			delete(ts.rts, tr)
		}
	}
	if ts.n >= maxPolicyUpstreams {
		ts.ups.Range(func(k, _ any) bool {
			ts.ups.Delete(k)
			return true
		})
		ts.n = 0
	}
}

// closeIdle closes the idle connections of every Transport's upstreams.
func (ts *transportUpstreams) closeIdle() {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for _, rt := range ts.rts {
		rt.closeIdle()
	}
}

// policyRoundTripper sends requests as a Transport says. A request to a
// loopback upstream (policy.Bypasses) never goes to the proxy: it is sent
// by base directly, with the Transport's TLS and HTTP/2 settings.
type policyRoundTripper struct {
	tr *policy.Transport
	// base has the TLS settings, HTTP/2 for grpc, and http_proxy's proxies
	// (absolute form for http upstreams, CONNECT for https ones); camel's
	// requests go through it to an upstream whose scheme has no proxy.
	base roundTripCloser
	// absolute are camel's: to the proxy of http upstreams ([0]) and of
	// https ones ([1]), every request in absolute form; nil: none.
	absolute [2]roundTripCloser
	// proxyErr: the Transport's proxy and grpc cannot work together, so
	// every request that would go to the proxy fails with it.
	proxyErr error
}

// errH2CProxy refuses grpc to an http upstream through http_proxy.
var errH2CProxy = errors.New("the grpc policy speaks HTTP/2 in clear (h2c) to an http upstream, which cannot go through http_proxy's proxy: give the upstream https (the proxy then tunnels it with CONNECT), or take the proxy off for it (https_proxy alone)")

func (p *policyRoundTripper) RoundTrip(r *http.Request) (*http.Response, error) {
	px := p.tr.Proxy
	if px == nil || px.For(r.URL) == nil {
		return p.base.RoundTrip(r)
	}
	if p.proxyErr != nil {
		closeBody(r)
		return nil, p.proxyErr
	}
	if px.Absolute {
		i := 0
		if r.URL.Scheme == "https" {
			i = 1
		}
		return p.absolute[i].RoundTrip(absoluteForm(r))
	}
	if p.tr.HTTP2 && r.URL.Scheme == "http" {
		closeBody(r)
		return nil, errH2CProxy
	}
	return p.base.RoundTrip(r)
}

func (p *policyRoundTripper) closeIdle() {
	p.base.CloseIdleConnections()
	for _, t := range p.absolute {
		if t != nil {
			t.CloseIdleConnections()
		}
	}
}

func closeBody(r *http.Request) {
	if r.Body != nil {
		_ = r.Body.Close()
	}
}

// absoluteForm is r written for camel's proxy: the whole URL in the
// request line, the upstream's scheme and port included, as APIcast's
// absolute_url writes it ("GET https://upstream:443/path?query"). The
// transport sees a plain http request (its dialer reaches the proxy), and
// net/http writes an opaque URL's RequestURI as it is.
func absoluteForm(r *http.Request) *http.Request {
	u := *r.URL
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	hostport := net.JoinHostPort(u.Hostname(), port)
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	u.Opaque = u.Scheme + "://" + hostport + path
	u.Scheme, u.Host, u.Path, u.RawPath = "http", hostport, "", ""
	out := r.WithContext(r.Context())
	out.URL = &u
	return out
}

// newPolicyRoundTripper makes the round tripper of tr: the gateway's own
// transport for https upstreams and upgrades (its bounds, its TLS settings
// from --upstream-ca-file and --upstream-client-cert), with what tr's
// policies change. Transports that verify upstreams with the agent's CAs
// are made again when --upstream-ca-file changes (upstreamTrust).
func (g *Gateway) newPolicyRoundTripper(tr *policy.Transport) *policyRoundTripper {
	p := &policyRoundTripper{tr: tr}
	build := func(roots *x509.CertPool) *http.Transport { return g.policyTransport(tr, roots) }
	if t := tr.TLS; t != nil && (t.RootCAs != nil || t.Insecure) {
		p.base = build(nil) // upstream_mtls's CAs, or none: never the agent's
	} else {
		p.base = g.cfg.TLS.trust.transport(build)
	}
	px := tr.Proxy
	switch {
	case px == nil:
	case px.Absolute && tr.HTTP2:
		p.proxyErr = errors.New("the grpc policy cannot go through camel's proxy: Camel takes HTTP/1.1 requests in absolute form, gRPC needs HTTP/2 to the upstream; take one of the two policies out of the chain")
	case px.Absolute:
		for i, proxy := range []*url.URL{px.HTTP, px.HTTPS} {
			if proxy != nil {
				p.absolute[i] = g.camelTransport(proxy)
			}
		}
	}
	return p
}

// policyTransport is newPolicyRoundTripper's base, verifying upstreams
// against roots unless tr's upstream_mtls says otherwise.
func (g *Gateway) policyTransport(tr *policy.Transport, roots *x509.CertPool) *http.Transport {
	b := g.transport.Clone()
	b.Proxy = nil
	cfg := b.TLSClientConfig
	g.cfg.TLS.trust.apply(cfg, roots)
	applyUpstreamTLS(cfg, tr.TLS, g.cfg.TLS.trust)
	if tr.HTTP2 {
		protocols := new(http.Protocols)
		protocols.SetHTTP2(true)
		protocols.SetUnencryptedHTTP2(true)
		b.Protocols = protocols
		requireH2(cfg)
	}
	if px := tr.Proxy; px != nil && !px.Absolute {
		// http_proxy: its proxy URLs are http:// only (the policy refuses
		// https://, as APIcast connects to proxies in clear), so no TLS
		// session with the proxy is ever made here, and cfg, upstream_mtls's
		// included, only sets up the TLS with the upstream inside CONNECT.
		// Were https proxies allowed, net/http would use cfg for the proxy
		// too, and they would need camelTransport's rule.
		b.Proxy = func(r *http.Request) (*url.URL, error) { return px.For(r.URL), nil }
		b.DialContext = proxyDialContext(px)
	}
	return b
}

// applyUpstreamTLS puts upstream_mtls's settings over the agent's (cfg,
// verified as agent says): its certificate instead of
// --upstream-client-cert, its CAs instead of --upstream-ca-file (or the
// system's), and no verification when verify is false.
func applyUpstreamTLS(cfg *tls.Config, t *policy.UpstreamTLS, agent *upstreamTrust) {
	if t == nil {
		return
	}
	if t.Certificate != nil {
		cfg.Certificates = []tls.Certificate{*t.Certificate}
		cfg.GetClientCertificate = nil
	}
	if t.RootCAs != nil || t.Insecure {
		agent.applyOwn(cfg, t.RootCAs, t.Insecure)
	}
}

// requireH2 fails a TLS session with an upstream that did not choose
// HTTP/2 by ALPN: net/http would speak HTTP/1.1 to it, and grpc asks for
// HTTP/2 end to end.
func requireH2(cfg *tls.Config) {
	verify := cfg.VerifyConnection
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if verify != nil {
			if err := verify(cs); err != nil {
				return err
			}
		}
		if cs.NegotiatedProtocol != "h2" {
			return fmt.Errorf("the upstream %s did not choose HTTP/2 (ALPN h2) in the TLS handshake, which the grpc policy needs", cs.ServerName)
		}
		return nil
	}
}

// camelTransport sends every request to proxy, in the absolute form
// absoluteForm writes, over TLS when its URL is https (verified with the
// agent's CAs as they are), in clear otherwise (the camel policy allows
// that to loopback only, for https upstreams).
func (g *Gateway) camelTransport(proxy *url.URL) roundTripCloser {
	if proxy.Scheme != "https" {
		return g.camelTransportWith(proxy, nil)
	}
	return g.cfg.TLS.trust.transport(func(roots *x509.CertPool) *http.Transport { return g.camelTransportWith(proxy, roots) })
}

// camelTransportWith is camelTransport's, verifying an https proxy
// against roots.
func (g *Gateway) camelTransportWith(proxy *url.URL, roots *x509.CertPool) *http.Transport {
	t := g.transport.Clone()
	t.Proxy = nil
	t.ForceAttemptHTTP2 = false
	t.Protocols = new(http.Protocols)
	t.Protocols.SetHTTP1(true)
	addr := proxyAddr(proxy)
	dialer := guardedDialer()
	if proxy.Scheme == "https" {
		td := &tls.Dialer{NetDialer: dialer, Config: camelProxyTLS(t.TLSClientConfig, g.cfg.TLS.trust, roots, proxy)}
		t.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
			return td.DialContext(ctx, network, addr)
		}
		return t
	}
	t.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return dialer.DialContext(ctx, network, addr)
	}
	return t
}

// camelProxyTLS is the TLS session with camel's https proxy, made from
// agent, the gateway's own upstream settings before upstream_mtls's. The
// proxy is not the upstream: upstream_mtls's settings are about the
// upstream (and the proxy does the TLS with it), so none of them reaches
// the session with the proxy. It is verified against its name with
// --upstream-ca-file's CAs or the system's, always: upstream_mtls's verify
// false would otherwise let anyone on the way pose as the proxy and read
// every request, secret token included, and its ca_certificates would
// choose whom the proxy may be. It gets no client certificate, neither
// upstream_mtls's nor --upstream-client-cert: 3scale's guide has the
// gateway open a TLS session to Camel's TLS port ("APIcast establishes a
// new TLS session to connect to the Camel HTTP proxy") and authenticate
// nothing there, APIcast's client certificates (upstream_mtls,
// APICAST_PROXY_HTTPS_CERTIFICATE) are those of its connections to
// upstreams, and the proxy is a host the composition names, to which the
// agent's identity was never given.
func camelProxyTLS(agent *tls.Config, trust *upstreamTrust, roots *x509.CertPool, proxy *url.URL) *tls.Config {
	cfg := agent.Clone()
	cfg.ServerName = proxy.Hostname()
	cfg.NextProtos = []string{"http/1.1"}
	trust.apply(cfg, roots) // the agent's CAs; it fails every handshake when the agent's settings did not load
	cfg.Certificates = nil
	cfg.GetClientCertificate = nil
	return cfg
}

// proxyDialContext dials as the gateway's transport does, and a proxy of
// px with guardedDialer.
func proxyDialContext(px *policy.UpstreamProxy) func(ctx context.Context, network, addr string) (net.Conn, error) {
	proxies := map[string]bool{}
	for _, u := range []*url.URL{px.HTTP, px.HTTPS} {
		if u != nil {
			proxies[proxyAddr(u)] = true
		}
	}
	guarded := guardedDialer()
	plain := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if proxies[addr] {
			return guarded.DialContext(ctx, network, addr)
		}
		return plain.DialContext(ctx, network, addr)
	}
}

// proxyAddr is a proxy URL's host and port, as net/http dials it: a name
// in its IDNA (punycode) form, so that proxyDialContext knows the proxy by
// the address it is dialed at (policy refuses non-ASCII hosts already).
func proxyAddr(u *url.URL) string {
	host := u.Hostname()
	for i := 0; i < len(host); i++ {
		if host[i] >= 0x80 { // as net/http: an ASCII name is dialed as written
			if a, err := idna.Lookup.ToASCII(host); err == nil {
				host = a
			}
			break
		}
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return net.JoinHostPort(host, port)
}

// guardedDialer dials proxies: as the gateway's transport, but never to a
// link-local, multicast or unspecified address, whatever a proxy's name
// resolves to.
func guardedDialer() *net.Dialer {
	return &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second, Control: refuseForbiddenProxy}
}

// refuseForbiddenProxy is guardedDialer's Control.
func refuseForbiddenProxy(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return nil
	}
	if ip, err := netip.ParseAddr(host); err == nil && policy.ForbiddenProxyAddr(ip) {
		return fmt.Errorf("%s is a link-local, multicast or unspecified address: the gateway never reaches one through a proxy setting", host)
	}
	return nil
}
