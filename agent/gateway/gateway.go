package gateway

import (
	"context"
	"errors"
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
	"github.com/portolan/portolan/internal/redact"
	"github.com/portolan/portolan/registry"
)

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
	cfg     Config
	log     zerolog.Logger
	self    string // instance id, never a routing target; under routesMu (SetSelf)
	ledger  Admitter
	m       *metrics
	am      *apicastMetrics // APIcast's metric names, for its dashboards
	tracing *tracing        // nil: --otel-endpoint is off

	transport   *http.Transport // for https upstreams and upgrades
	local       *upstream
	localURL    *url.URL // --upstream: the policies' service upstream (Env.Upstream)
	localScheme string   // --upstream's, which peers' apps speak too (routes.go)

	view   atomic.Pointer[view]   // nil until a composition and a service are known
	routes atomic.Pointer[routes] // instances serving each plan, from the map
	rr     atomic.Uint64          // round-robin over remote instances

	routesMu sync.Mutex    // serialises route updates
	lastMap  *registry.Map // the newest service map, under routesMu

	admissions sync.Pool // of *admission
	requests   sync.Pool // of *request

	policyMetrics *policy.Metrics
	shared        policy.Shared        // policy state that outlives a view (rate limits)
	global        policy.GlobalCounter // rate_limit's cluster-wide counts: the ledger's, when it keeps them
	caching       cachingState         // home's reachability and strict caching's applications

	oidc        *oidcIssuers // the OpenID Connect issuers of OIDC services, kept across views
	policyCerts policyCerts  // the tls policy's certificate files, kept across views (handshake_plan.go)

	lean atomic.Pointer[http1.Server]      // the running HTTP/1.1 loop, for nginx_http_connections
	capd atomic.Pointer[http1.CapListener] // the bound on client connections, counting those it closed
	h2   atomic.Pointer[h2Server]          // and the HTTP/2 server, when TLS or h2c is on

	upstreamsMu sync.Mutex // serialises additions to upstreams
	upstreams   sync.Map   // upstreamKey → *upstream: those policies chose
	upstreamsN  int        // how many upstreams holds, under upstreamsMu

	transports transportUpstreams // the upstreams of policies' Transports (upstream_transport.go)
}

// New returns a gateway in front of upstream for the instance self,
// admitting requests through ledger and counting them in reg. It answers
// 503 until Update gives it a view.
func New(cfg Config, upstream *url.URL, self string, ledger Admitter, reg *prometheus.Registry, log zerolog.Logger) *Gateway {
	m, am := newMetrics(reg), newAPIcastMetrics(reg, cfg.ExtendedMetrics)
	// An unreachable upstream fails every request: log a burst a second, not each.
	log = log.Hook(am.logHook()).Sample(&zerolog.BurstSampler{Burst: 3, Period: time.Second})
	g := &Gateway{cfg: cfg, log: log, self: self, ledger: ledger, m: m, am: am}
	if cfg.OTelEndpoint != "" {
		t, err := newTracing(cfg.OTelEndpoint, cfg.OTelInsecureHTTP)
		if err != nil {
			g.log.Error().Err(err).Msg("gateway: tracing off")
		} else if u, _ := url.Parse(cfg.OTelEndpoint); checkOTLPClearText(u, false) != nil {
			g.log.Warn().Str("otel_endpoint", redact.URL(cfg.OTelEndpoint)).
				Msg("gateway: spans go to the collector in plain http (--otel-insecure-http): each request's path, service and application cross the network in clear")
		}
		g.tracing = t
	}
	g.admissions.New = func() any {
		ad := &admission{pool: &g.admissions}
		ad.within = ad.withinLimits
		return ad
	}
	g.transport = &http.Transport{
		Proxy:                  nil, // the app is local or a peer: never through an outbound proxy
		DialContext:            (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:           4 * idleConns,
		MaxIdleConnsPerHost:    idleConns,
		IdleConnTimeout:        90 * time.Second,
		ResponseHeaderTimeout:  cfg.UpstreamTimeout,
		ExpectContinueTimeout:  time.Second,
		TLSHandshakeTimeout:    10 * time.Second,
		DisableCompression:     true, // pass bodies through as the app sent them
		TLSClientConfig:        g.upstreamTLS(),
		ForceAttemptHTTP2:      true,                 // to https upstreams that offer it (a custom TLSClientConfig turns it off otherwise)
		MaxResponseHeaderBytes: http1.MaxHeaderBytes, // as the lean forwarder's: Go's default is 10 MB
		// A shared HTTP/2 connection silent for 5 s is pinged, and dropped 3 s
		// later unanswered: kept, every request on it timed out until TCP gave up.
		HTTP2: &http.HTTP2Config{SendPingTimeout: 5 * time.Second, PingTimeout: 3 * time.Second},
	}
	g.requests.New = func() any {
		rq := &request{}
		rq.ctx.Gateway = rq
		rq.rec.ctx = &rq.ctx
		return rq
	}
	g.policyMetrics = policy.NewMetrics(reg)
	g.oidc = newOIDCIssuers(g.policyMetrics)
	if cfg.OIDCInsecureIssuers {
		g.oidc.allowPlainHTTP(log.Sample(nil)) // warned once per issuer: never sampled away
	}
	policy.Register(reg, &connections{g: g})
	g.caching.init(g.policyMetrics)
	if gc, ok := ledger.(policy.GlobalCounter); ok {
		g.global = gc
	}
	g.local, g.localURL, g.localScheme = g.newUpstream(upstream, false), upstream, upstream.Scheme
	return g
}

// upstream is where requests go: the pooled forwarder for plain HTTP, and
// httputil.ReverseProxy for https, a base path, and upgrades.
type upstream struct {
	fwd    *http1.Forwarder // nil: always rp
	rp     *httputil.ReverseProxy
	target *url.URL // what it reaches, for a policy's Transport (transportUpstream)
}

// maxPolicyUpstreams bounds the upstreams kept for policies' choices; past
// it, a new one is used for its request only.
const maxPolicyUpstreams = 256

// policyUpstream is the upstream for the scheme and host of a URL a policy
// chose (its path prefixes the request's: see forwardChosen), kept to reuse
// its connections. A known one is found without a lock or an allocation.
func (g *Gateway) policyUpstream(u *url.URL) *upstream {
	key := upstreamKey{u.Scheme, u.Host}
	if up, ok := g.upstreams.Load(key); ok {
		return up.(*upstream)
	}
	g.upstreamsMu.Lock()
	defer g.upstreamsMu.Unlock()
	if up, ok := g.upstreams.Load(key); ok {
		return up.(*upstream)
	}
	up := g.newUpstream(&url.URL{Scheme: u.Scheme, Host: u.Host}, true)
	if g.upstreamsN < maxPolicyUpstreams {
		g.upstreams.Store(key, up)
		g.upstreamsN++
	}
	return up
}

type upstreamKey struct{ scheme, host string }

// newUpstream makes the upstream of u. A policy's upstream (chosen) sends
// the Host header content gives it, never the service's hostname_rewrite.
func (g *Gateway) newUpstream(u *url.URL, chosen bool) *upstream {
	up := &upstream{rp: g.proxyTo(u, chosen, g.baseTransport()), target: u}
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
		g.forwardError(w, r, up, err)
	}
}

func (g *Gateway) forwardError(w http.ResponseWriter, r *http.Request, up *upstream, err error) {
	if g.bodyTimedOut(w, r, err) {
		return
	}
	if status, ok := http1.IsBodyError(err); ok {
		policy.ForwardFailed(w)
		g.m.tooLarge.Inc()
		writeText(w, status, plainText, []byte(http.StatusText(status)+"\n"))
		return
	}
	g.upstreamError(w, r, up.fwd.Addr(), err)
}

// proxyTo returns a reverse proxy to target (scheme and host; its path, if
// any, prefixes the request's). Hop-by-hop headers are dropped by
// httputil.ReverseProxy; X-Forwarded-For gets the client appended, as nginx's
// $proxy_add_x_forwarded_for does. Credentials are kept, as APIcast keeps them.
// chosen: a policy's upstream, sent the request's Host as content set it.
// rt is the gateway's transport, or a policy Transport's round tripper.
func (g *Gateway) proxyTo(target *url.URL, chosen bool, rt http.RoundTripper) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			http1.DropUnforwardable(pr.Out.Header)
			if !http1.IsUpgrade(pr.In) {
				// ReverseProxy puts back the Upgrade a request asked for
				// before Rewrite runs: an upgrade the gateway does not
				// relay (h2c) must not reach the app, which could switch
				// and take later requests past every check.
				pr.Out.Header.Del("Upgrade")
				pr.Out.Header.Del("Connection")
			}
			if xff := pr.In.Header["X-Forwarded-For"]; len(xff) > 0 {
				pr.Out.Header["X-Forwarded-For"] = xff
			}
			pr.SetXForwarded()
			if chosen {
				pr.Out.Host = pr.In.Host
			}
			// The secret token header is the gateway's (the lean
			// forwarder's Owned): a client's copy never reaches the app,
			// which may trust it, even when the service sends none.
			delete(pr.Out.Header, secretTokenHeader)
			if v := g.view.Load(); v != nil {
				if v.hostRewrite != "" && !chosen {
					pr.Out.Host = v.hostRewrite
				}
				if v.secretToken != nil {
					pr.Out.Header[secretTokenHeader] = v.secretToken
				}
			}
		},
		Transport: retryTransport{rt},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			g.upstreamError(w, r, target.Host, err)
		},
	}
}

// upstreamError answers 502 when the app (or a peer) cannot be reached, 504
// when it timed out, as nginx does. The query is never logged: it may hold
// credentials.
func (g *Gateway) upstreamError(w http.ResponseWriter, r *http.Request, upstream string, err error) {
	if g.bodyTimedOut(w, r, err) { // not the upstream's timeout: the client's
		return
	}
	policy.ForwardFailed(w) // what follows is not the upstream's answer
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		// The client's body went over a bound while it was sent
		// (payload_limits, --gateway-max-body): 413, as the lean
		// forwarder answers it (http1.IsBodyError).
		g.m.tooLarge.Inc()
		writeText(w, http.StatusRequestEntityTooLarge, plainText, []byte(http.StatusText(http.StatusRequestEntityTooLarge)+"\n"))
		return
	}
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		return // the client went away (499), which is not the upstream's failing
	}
	g.m.upstreamError.Inc()
	if http1.IsTimeout(err) {
		g.log.Warn().Err(err).Str("method", r.Method).Str("path", r.URL.Path).Str("upstream", upstream).Msg("gateway: upstream timed out")
		writeText(w, http.StatusGatewayTimeout, plainText, []byte("Upstream timed out\n"))
		return
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
// limits from the local snapshot, then forwarding. Every answer, the
// gateway's own included, goes through the request's status recorder and
// is counted in the metrics.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rq := g.requests.Get().(*request)
	rq.rec.ResponseWriter, rq.rec.status = w, 0
	rq.ctx.UpstreamStatus, rq.ctx.UpstreamTime = 0, 0
	finished := false
	defer func() {
		if !finished {
			// Serving panicked (http.ErrAbortHandler: the upstream died
			// mid-body): the request is counted all the same; rq, perhaps
			// left mid-use, is not pooled again.
			g.record(rq, r, g.view.Load(), start)
		}
	}()
	var v *view
	if g.tracing != nil {
		v = g.serveTraced(rq, r)
	} else {
		v = g.serve(&rq.rec, r, rq)
	}
	g.record(rq, r, v, start)
	if rq.ad != nil {
		rq.ad.release()
	}
	rq.ad, rq.up, rq.rec.ResponseWriter = nil, nil, nil
	c := &rq.ctx
	c.W, c.R, c.App, c.JWT, c.Upstream = nil, nil, nil, nil, nil
	g.requests.Put(rq)
	finished = true
}

// serve answers r and returns the view it was served with (nil: none yet).
func (g *Gateway) serve(w http.ResponseWriter, r *http.Request, rq *request) *view {
	if !http1.ForwardsMethod(r.Method) {
		// Before any policy, as nginx in front of APIcast refuses them: a
		// TRACE echoed the service's secret token to the client, whichever
		// way it was forwarded.
		g.m.badRequest.Inc()
		http1.RefuseMethod(w, r)
		return nil
	}
	if !targetOK(r) {
		g.m.badRequest.Inc()
		writeText(w, http.StatusBadRequest, plainText, policy.PathRefused)
		return nil
	}
	// The client's Connection names fields of its hop only: dropped now, they
	// cannot take along, at forwarding, a header a policy sets under one.
	http1.DropConnectionListed(r.Header)
	v := g.view.Load()
	if v == nil {
		g.m.unavailable.Inc()
		writeText(w, http.StatusServiceUnavailable, plainText, []byte("Gateway not ready: no composition or no service for this instance yet\n"))
		return nil
	}
	if v.failClosed != nil {
		g.m.failClosed.Inc()
		v.failClosed.write(w)
		return v
	}
	if g.misdirected(w, r, v) {
		return v
	}
	if r.ContentLength > g.cfg.MaxBodyBytes {
		g.m.tooLarge.Inc()
		writeText(w, http.StatusRequestEntityTooLarge, plainText, []byte("Request body too large\n"))
		return v
	}
	c := &rq.ctx
	v.chain.Acquire(c, w, r)
	v.chain.Serve(c, g)
	return v
}

// Forward is the chain's content phase when no policy answered: forward to
// the upstream a policy chose, or where the apicast element sends the
// application's plan, or the local app. The policies' timeouts and retries
// apply to whichever it is; without them (and without a policy's upstream or
// Transport) the request takes the default path, which allocates nothing
// more.
func (g *Gateway) Forward(c *policy.Context) {
	rq := c.Gateway.(*request)
	v := g.view.Load()
	r := c.R
	if !policy.PathOK(r.URL.Path) || (c.Upstream != nil && !policy.PathOK(c.Upstream.Path)) {
		// A policy rewrote the path into one targetOK would have refused
		// (url_rewriting's gsub of "x" in "/a/.x./b"): the app would
		// resolve it past the mapping rules.
		g.m.badRequest.Inc()
		writeText(c.W, http.StatusBadRequest, plainText, policy.PathRefused)
		return
	}
	if r.Body != nil && r.Body != http.NoBody {
		// The server's own writer: MaxBytesReader tells it to close the
		// connection through an unexported method no wrapper passes on.
		r.Body = http.MaxBytesReader(rq.rec.ResponseWriter, r.Body, g.cfg.MaxBodyBytes)
	}
	up := rq.up
	switch {
	case c.Upstream != nil:
		g.m.routed.Inc()
		timeUpstream(c, &rq.rec, func() { g.forwardChosen(c, v) })
		return
	case up != nil:
		g.m.routed.Inc()
	default:
		up = g.local
		g.m.forwarded.Inc()
	}
	if c.Retries == 0 && c.Timeouts == (policy.Timeouts{}) && c.RetryStatuses == nil && !c.Unbuffered && c.Transport == nil {
		timeUpstream(c, &rq.rec, func() { g.forward(c.W, r, up, v) })
		return
	}
	timeUpstream(c, &rq.rec, func() { g.forwardWith(c, up, v.hostRewrite, false, v) })
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
	owner  int64      // the backend API whose rules alone (and the product's) made hits; 0: all
	path   string     // the path the rules matched, to match again by owner
	query  url.Values // the query they matched (nil when no rule reads it)
	now    time.Time
	within func(composition.Counter) bool // withinLimits, bound once
	pool   *sync.Pool                     // the gateway's, where release returns it
}

// release returns ad to the pool; it must not be used after.
func (ad *admission) release() {
	ad.v, ad.app, ad.hits, ad.cred, ad.path, ad.query = nil, nil, nil, composition.Credentials{}, "", nil
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
	g.baseTransport().CloseIdleConnections()
	g.transports.closeIdle()
	g.local.closeIdle()
	g.upstreams.Range(func(_, up any) bool {
		up.(*upstream).closeIdle()
		return true
	})
	if rt := g.routes.Load(); rt != nil {
		for _, ts := range rt.byPlan {
			for _, t := range ts {
				t.up.closeIdle()
			}
		}
	}
}

// unrecordedBody answers a request whose usage the agent cannot keep.
var unrecordedBody = []byte("Usage cannot be recorded right now (the agent's usage spool is full: home has not acknowledged usage for too long); try again later\n")
