package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/portolan/portolan/agent/gateway/policy"
	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/http1"
	"github.com/portolan/portolan/registry"
)

// Config turns on the gateway in the agent: an APIcast-style proxy in
// front of the app that authorizes every request against the agent's
// composition snapshot, counts its usage and forwards it.
type Config struct {
	Listen   string // address the gateway listens on, e.g. ":8080"
	Upstream string // the app, e.g. http://127.0.0.1:3000

	MaxBodyBytes    int64         // request body bound; default DefaultMaxBody
	UpstreamTimeout time.Duration // how long the app may take to answer with headers; default DefaultUpstreamTimeout

	TLS TLS // TLS to clients (and HTTP/2) and to https upstreams; see tls.go
}

// Gateway defaults.
const (
	DefaultMaxBody         = 10 << 20
	DefaultUpstreamTimeout = 60 * time.Second

	idleConns = 1024 // kept per upstream host
)

// Check validates the configuration, fills in defaults, loads the TLS files
// it names and returns the upstream's URL. New takes a checked Config.
func (c *Config) Check() (*url.URL, error) {
	if c.Listen == "" {
		return nil, errors.New("--gateway-listen is empty")
	}
	u, err := url.Parse(c.Upstream)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--upstream %q: want the app's http(s) URL, like http://127.0.0.1:3000", c.Upstream)
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = DefaultMaxBody
	}
	if c.UpstreamTimeout <= 0 {
		c.UpstreamTimeout = DefaultUpstreamTimeout
	}
	if err := c.TLS.check(); err != nil {
		return nil, err
	}
	return u, nil
}

// Admitter decides and records usage: the agent's usage ledger. Admit calls
// decide with the counters as they stand and records the hits only if it
// returns true, atomically; it is called on every request, concurrently.
type Admitter interface {
	Admit(appID int64, hits []composition.Hit, now time.Time, decide func(current composition.Counter) bool) error
}

// Gateway serves the service of the instance's placement. Everything a
// request needs is read from immutable views swapped atomically when the
// composition, the placement or the service map change, so the request path
// takes no lock but the ledger's.
type Gateway struct {
	cfg    Config
	log    zerolog.Logger
	self   string // instance id, never a routing target
	ledger Admitter
	m      *metrics

	transport *http.Transport // for https upstreams and upgrades
	local     *upstream

	view   atomic.Pointer[view]   // nil until a composition and a service are known
	routes atomic.Pointer[routes] // instances serving each plan, from the map
	rr     atomic.Uint64          // round-robin over remote instances

	routesMu sync.Mutex    // serialises route updates
	lastMap  *registry.Map // the newest service map, under routesMu

	admissions sync.Pool // of *admission
	requests   sync.Pool // of *request

	policyMetrics *policy.Metrics
	shared        policy.Shared // policy state that outlives a view (rate limits)

	upstreamsMu sync.Mutex
	upstreams   map[string]*upstream // upstreams chosen by policies, by URL
}

// New returns a gateway in front of upstream for the instance self,
// admitting requests through ledger and counting them in reg. It answers
// 503 until Update gives it a view.
func New(cfg Config, upstream *url.URL, self string, ledger Admitter, reg *prometheus.Registry, log zerolog.Logger) *Gateway {
	m := newMetrics(reg)
	// An unreachable upstream fails every request: log a burst a second, not each.
	g := &Gateway{cfg: cfg, log: log.Sample(&zerolog.BurstSampler{Burst: 3, Period: time.Second}), self: self, ledger: ledger, m: m}
	g.admissions.New = func() any {
		ad := &admission{pool: &g.admissions}
		ad.within = ad.withinLimits
		return ad
	}
	g.transport = &http.Transport{
		Proxy:                 nil, // the app is local or a peer: never through an outbound proxy
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          4 * idleConns,
		MaxIdleConnsPerHost:   idleConns,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: cfg.UpstreamTimeout,
		ExpectContinueTimeout: time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		DisableCompression:    true, // pass bodies through as the app sent them
		TLSClientConfig:       g.upstreamTLS(),
		ForceAttemptHTTP2:     true, // to https upstreams that offer it (a custom TLSClientConfig turns it off otherwise)
	}
	g.requests.New = func() any {
		rq := &request{}
		rq.ctx.Gateway = rq
		return rq
	}
	g.policyMetrics = policy.NewMetrics(reg)
	g.local = g.newUpstream(upstream)
	return g
}

// upstream is where requests go: the pooled forwarder for plain HTTP, and
// httputil.ReverseProxy for https, a base path, and upgrades.
type upstream struct {
	fwd *http1.Forwarder // nil: always rp
	rp  *httputil.ReverseProxy
}

// maxPolicyUpstreams bounds the upstreams kept for policies' choices; past
// it, a new one is used for its request only.
const maxPolicyUpstreams = 256

// policyUpstream is the upstream for a URL a policy chose, kept to reuse
// its connections.
func (g *Gateway) policyUpstream(u *url.URL) *upstream {
	key := u.Scheme + "://" + u.Host + u.Path
	g.upstreamsMu.Lock()
	defer g.upstreamsMu.Unlock()
	if up, ok := g.upstreams[key]; ok {
		return up
	}
	up := g.newUpstream(u)
	if g.upstreams == nil {
		g.upstreams = map[string]*upstream{}
	}
	if len(g.upstreams) < maxPolicyUpstreams {
		g.upstreams[key] = up
	}
	return up
}

func (g *Gateway) newUpstream(u *url.URL) *upstream {
	up := &upstream{rp: g.proxyTo(u)}
	if u.Scheme == "http" && (u.Path == "" || u.Path == "/") && u.RawQuery == "" {
		addr := u.Host
		if u.Port() == "" {
			addr = net.JoinHostPort(u.Hostname(), "80")
		}
		up.fwd = http1.NewForwarder(http1.ForwarderConfig{Addr: addr, Host: u.Host, Owned: secretTokenHeader,
			Timeout: g.cfg.UpstreamTimeout, Idle: idleConns})
	}
	return up
}

func (up *upstream) closeIdle() {
	if up.fwd != nil {
		up.fwd.CloseIdle()
	}
}

// forward sends r to up and relays the answer.
func (g *Gateway) forward(w http.ResponseWriter, r *http.Request, up *upstream, v *view) {
	if up.fwd == nil || http1.IsUpgrade(r) {
		up.rp.ServeHTTP(w, r)
		return
	}
	if err := up.fwd.Serve(w, r, v.hostRewrite, v.secretToken); err != nil {
		if status, ok := http1.IsBodyError(err); ok {
			g.m.tooLarge.Inc()
			writeText(w, status, plainText, []byte(http.StatusText(status)+"\n"))
			return
		}
		g.upstreamError(w, r, up.fwd.Addr(), err)
	}
}

// proxyTo returns a reverse proxy to target (scheme and host; its path, if
// any, prefixes the request's). Hop-by-hop headers are dropped by
// httputil.ReverseProxy; X-Forwarded-For gets the client appended, as nginx's
// $proxy_add_x_forwarded_for does. Credentials are kept, as APIcast keeps them.
func (g *Gateway) proxyTo(target *url.URL) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			if xff := pr.In.Header["X-Forwarded-For"]; len(xff) > 0 {
				pr.Out.Header["X-Forwarded-For"] = xff
			}
			pr.SetXForwarded()
			if v := g.view.Load(); v != nil {
				if v.hostRewrite != "" {
					pr.Out.Host = v.hostRewrite
				}
				if v.secretToken != nil {
					pr.Out.Header[secretTokenHeader] = v.secretToken
				}
			}
		},
		Transport: g.transport,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			g.upstreamError(w, r, target.Host, err)
		},
	}
}

// upstreamError answers 502 when the app (or a peer) cannot be reached. The
// query is never logged: it may hold credentials.
func (g *Gateway) upstreamError(w http.ResponseWriter, r *http.Request, upstream string, err error) {
	g.m.upstreamError.Inc()
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		return // the client went away
	}
	g.log.Warn().Err(err).Str("method", r.Method).Str("path", r.URL.Path).Str("upstream", upstream).Msg("gateway: upstream unreachable")
	writeText(w, http.StatusBadGateway, plainText, []byte("Upstream unavailable\n"))
}

var plainText = []string{"text/plain; charset=us-ascii"}

func writeText(w http.ResponseWriter, status int, contentType []string, body []byte) {
	h := w.Header()
	h["Content-Type"] = contentType
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// ServeHTTP is the request path: the service's policy chain, whose apicast
// element reads credentials, matches mapping rules and checks the plan's
// limits from the local snapshot, then forwarding.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !targetOK(r) {
		g.m.badRequest.Inc()
		writeText(w, http.StatusBadRequest, plainText, badTargetBody)
		return
	}
	v := g.view.Load()
	if v == nil {
		g.m.unavailable.Inc()
		writeText(w, http.StatusServiceUnavailable, plainText, []byte("Gateway not ready: no composition or no service for this instance yet\n"))
		return
	}
	if v.failClosed != nil {
		g.m.failClosed.Inc()
		v.failClosed.write(w)
		return
	}
	if r.ContentLength > g.cfg.MaxBodyBytes {
		g.m.tooLarge.Inc()
		writeText(w, http.StatusRequestEntityTooLarge, plainText, []byte("Request body too large\n"))
		return
	}
	if v.oidc {
		g.m.oidc.Inc()
		v.errOIDC.write(w)
		return
	}
	rq := g.requests.Get().(*request)
	c := &rq.ctx
	v.chain.Acquire(c, w, r)
	v.chain.Serve(c, g.content)
	if rq.ad != nil {
		rq.ad.release()
	}
	rq.ad, rq.up = nil, nil
	c.W, c.R, c.App, c.JWT, c.Upstream = nil, nil, nil, nil, nil
	g.requests.Put(rq)
}

// content is the chain's content phase when no policy answered: forward to
// the upstream a policy chose, or where the apicast element sends the
// application's plan, or the local app.
func (g *Gateway) content(c *policy.Context) {
	rq := c.Gateway.(*request)
	v := g.view.Load()
	r := c.R
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = http.MaxBytesReader(c.W, r.Body, g.cfg.MaxBodyBytes)
	}
	up := rq.up
	switch {
	case c.Upstream != nil:
		up = g.policyUpstream(c.Upstream.URL)
		g.m.routed.Inc()
	case up != nil:
		g.m.routed.Inc()
	default:
		up = g.local
		g.m.forwarded.Inc()
	}
	g.forward(c.W, r, up, v)
}

// admission is what one request's usage decision needs: room for its hits
// and what the limit check reads. It is pooled, with the check bound once,
// so that neither the hits nor a closure is allocated per request.
type admission struct {
	buf    [8]composition.Hit
	cred   composition.Credentials
	v      *view
	app    *composition.Application
	hits   []composition.Hit
	now    time.Time
	within func(composition.Counter) bool // withinLimits, bound once
	pool   *sync.Pool                     // the gateway's, where release returns it
}

// release returns ad to the pool; it must not be used after.
func (ad *admission) release() {
	ad.v, ad.app, ad.hits, ad.cred = nil, nil, nil, composition.Credentials{}
	ad.pool.Put(ad)
}

// decider returns the decision Admit asks for: would the usage pass a limit
// of the application's plan, given the counters the ledger holds?
func (ad *admission) decider(v *view, app *composition.Application, hits []composition.Hit, now time.Time) func(composition.Counter) bool {
	if len(v.limits[app.PlanID]) == 0 {
		return admitAll
	}
	ad.v, ad.app, ad.hits, ad.now = v, app, hits, now
	return ad.within
}

func (ad *admission) withinLimits(cur composition.Counter) bool {
	return !composition.ExceedsLimits(ad.v.limits[ad.app.PlanID], ad.app, ad.hits, cur, ad.now)
}

func admitAll(composition.Counter) bool { return true }

// remote picks a passing instance serving plan, round-robin; nil when none.
func (g *Gateway) remote(v *view, plan int64) *upstream {
	rt := g.routes.Load()
	if rt == nil || rt.serviceID != v.serviceID {
		return nil
	}
	ts := rt.byPlan[plan]
	if len(ts) == 0 {
		return nil
	}
	return ts[g.rr.Add(1)%uint64(len(ts))].up
}

// secretTokenHeader carries the proxy's secret token to the app; a client's
// own copy is never forwarded.
const secretTokenHeader = "X-3scale-Proxy-Secret-Token"

// closeIdle closes every kept-alive upstream connection.
func (g *Gateway) closeIdle() {
	g.transport.CloseIdleConnections()
	g.local.closeIdle()
	if rt := g.routes.Load(); rt != nil {
		for _, ts := range rt.byPlan {
			for _, t := range ts {
				t.up.closeIdle()
			}
		}
	}
}

// badTargetBody answers a request whose target targetOK refuses.
var badTargetBody = []byte("Bad Request: dot segments and control bytes are not allowed in the path\n")

// unrecordedBody answers a request whose usage the agent cannot keep.
var unrecordedBody = []byte("Usage cannot be recorded right now (the agent's usage spool is full: home has not acknowledged usage for too long); try again later\n")
