package gateway

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/agent/gateway/policy"
	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/registry"
)

// countingLedger admits usage against a plain in-memory count: the request
// path's contract with the ledger (decide under a lock, record when true),
// without reporting.
type countingLedger struct {
	mu     sync.Mutex
	counts map[[2]int64]map[int64]int64 // app, metric → minute → count
}

func (l *countingLedger) Admit(appID int64, hits []composition.Hit, now time.Time, decide func(composition.Counter) bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	cur := func(app, metric int64, period string, start time.Time) int64 {
		var n int64
		for minute, c := range l.counts[[2]int64{app, metric}] {
			if minute >= start.Unix()/60 {
				n += c
			}
		}
		return n
	}
	if !decide(cur) {
		return composition.ErrLimitsExceeded
	}
	if l.counts == nil {
		l.counts = map[[2]int64]map[int64]int64{}
	}
	for _, h := range hits {
		k := [2]int64{appID, h.MetricID}
		if l.counts[k] == nil {
			l.counts[k] = map[int64]int64{}
		}
		l.counts[k][now.Unix()/60] += h.Delta
	}
	return nil
}

// gatewayFixture is a service with a user_key, a GET / rule counting hits,
// a basic plan limited to 5 hits a minute, a premium plan without limits,
// and an application on each plus a suspended one.
type gatewayFixture struct {
	tx                           *composition.Tx
	svc                          *composition.Service
	hits                         *composition.Metric
	basic, premium               *composition.ApplicationPlan
	basicApp, premiumApp, frozen *composition.Application
}

func newGatewayFixture(t testing.TB, backendVersion string) *gatewayFixture {
	t.Helper()
	tx := composition.NewTx(composition.New(), time.Now())
	f := &gatewayFixture{tx: tx, svc: &composition.Service{Name: "News", BackendVersion: backendVersion}}
	require.NoError(t, tx.Create(f.svc))
	f.hits, _ = tx.View().Hits(composition.OwnerService, f.svc.ID)
	require.NoError(t, tx.Create(&composition.MappingRule{OwnerType: composition.OwnerService, OwnerID: f.svc.ID,
		MetricID: f.hits.ID, HTTPMethod: "GET", Pattern: "/", Delta: 1}))
	f.basic = &composition.ApplicationPlan{ServiceID: f.svc.ID, Name: "Basic"}
	f.premium = &composition.ApplicationPlan{ServiceID: f.svc.ID, Name: "Premium"}
	require.NoError(t, tx.Create(f.basic))
	require.NoError(t, tx.Create(f.premium))
	require.NoError(t, tx.Create(&composition.UsageLimit{PlanID: f.basic.ID, MetricID: f.hits.ID, Period: "minute", Value: 5}))
	acct := &composition.Account{OrgName: "Consumer"}
	require.NoError(t, tx.Create(acct))
	app := func(name string, plan *composition.ApplicationPlan, key string) *composition.Application {
		a := &composition.Application{AccountID: acct.ID, ServiceID: f.svc.ID, PlanID: plan.ID, Name: name, State: composition.AppLive}
		if backendVersion == backendAppID {
			a.AppID, a.AppKeys = key, []string{key + "-secret"}
		} else {
			a.UserKey = key
		}
		require.NoError(t, tx.Create(a))
		return a
	}
	f.basicApp = app("basic", f.basic, "basic-key")
	f.premiumApp = app("premium", f.premium, "premium-key")
	f.frozen = app("frozen", f.basic, "frozen-key")
	frozen := *f.frozen
	frozen.State = composition.AppSuspended
	require.NoError(t, tx.Update(&frozen))
	return f
}

func (f *gatewayFixture) proxy(t testing.TB, edit func(p *composition.Proxy)) {
	t.Helper()
	p, ok := f.tx.View().Proxies.Get(f.svc.ID)
	require.True(t, ok)
	n := *p
	edit(&n)
	require.NoError(t, f.tx.Update(&n))
}

// placement serves the service with the given plans.
func (f *gatewayFixture) placement(plans ...*composition.ApplicationPlan) registry.Placement {
	p := registry.Placement{Service: f.svc.SystemName, ServiceID: f.svc.ID}
	for _, plan := range plans {
		p.Plans = append(p.Plans, registry.PlanRef{ID: plan.ID, SystemName: plan.SystemName})
	}
	return p
}

// echoUpstream answers with its name and what it received.
func echoUpstream(t testing.TB, name string) (*httptest.Server, chan *http.Request) {
	got := make(chan *http.Request, 100)
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		got <- r
		w.Header().Set("X-Served-By", name)
		_, _ = io.WriteString(w, name)
	}))
	t.Cleanup(s.Close)
	return s, got
}

func startTestGateway(t testing.TB, f *gatewayFixture, upstream string, p registry.Placement, cfg Config) (*Gateway, string, *prometheus.Registry) {
	t.Helper()
	cfg.Listen, cfg.Upstream = "127.0.0.1:0", upstream
	u, err := cfg.Check()
	require.NoError(t, err)
	reg := prometheus.NewRegistry()
	g := New(cfg, u, "self", &countingLedger{}, reg, zerolog.Nop())
	updated, err := g.Update(agentView(t, f.tx.Result(), f.svc.SystemName), p) // as agents get it: keys hashed
	require.NoError(t, err)
	require.True(t, updated)
	ln := runGateway(t, g, cfg.Listen)
	return g, "http://" + ln.Addr().String(), reg
}

// runGateway serves g on a new listener at addr until the test ends,
// and checks that it then shuts down cleanly.
func runGateway(t testing.TB, g *Gateway, addr string) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		assert.NoError(t, <-done, "the gateway shuts down cleanly")
	})
	return ln
}

type answer struct {
	status      int
	contentType string
	body        string
	header      http.Header
}

func call(t *testing.T, method, target string, header http.Header) answer {
	t.Helper()
	req, err := http.NewRequest(method, target, nil)
	require.NoError(t, err)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return answer{resp.StatusCode, resp.Header.Get("Content-Type"), string(b), resp.Header}
}

func requests(reg *prometheus.Registry, result string) float64 {
	return counterValue(reg, "portolan_agent_gateway_requests_total", "result", result)
}

// counterValue is the value of the counter name whose labels include the given
// name and value pairs (0 when there is none).
func counterValue(reg *prometheus.Registry, name string, labels ...string) float64 {
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, l := range m.GetLabel() {
					found = found || (l.GetName() == labels[i] && l.GetValue() == labels[i+1])
				}
				if !found {
					continue metrics
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

func TestGatewayDefaultAnswersAndLimits(t *testing.T) {
	f := newGatewayFixture(t, backendUserKey)
	up, got := echoUpstream(t, "app")
	_, gw, reg := startTestGateway(t, f, up.URL, f.placement(f.basic, f.premium), Config{})

	const text = "text/plain; charset=us-ascii"
	missing := call(t, "GET", gw+"/articles", nil)
	assert.Equal(t, answer{403, text, "Authentication parameters missing\n", missing.header}, missing)
	invalid := call(t, "GET", gw+"/articles?user_key=nope", nil)
	assert.Equal(t, answer{403, text, "Authentication failed\n", invalid.header}, invalid)
	suspended := call(t, "GET", gw+"/articles?user_key=frozen-key", nil)
	assert.Equal(t, answer{403, text, "Authentication failed\n", suspended.header}, suspended)
	noMatch := call(t, "POST", gw+"/articles?user_key=basic-key", nil)
	assert.Equal(t, answer{404, text, "No Mapping Rule matched\n", noMatch.header}, noMatch)
	assert.Empty(t, got, "nothing refused reaches the app")

	for i := range 5 {
		a := call(t, "GET", gw+"/articles?user_key=basic-key", http.Header{"X-Forwarded-For": {"10.0.0.9"}})
		require.Equal(t, 200, a.status, "request %d: %s", i+1, a.body)
		assert.Equal(t, "app", a.body)
	}
	over := call(t, "GET", gw+"/articles?user_key=basic-key", nil)
	assert.Equal(t, answer{429, text, "Usage limit exceeded\n", over.header}, over)
	for range 3 {
		assert.Equal(t, 200, call(t, "GET", gw+"/articles?user_key=premium-key", nil).status, "another plan, no limits")
	}

	require.Len(t, got, 8)
	r := <-got
	assert.Equal(t, "/articles", r.URL.Path)
	assert.Equal(t, "basic-key", r.URL.Query().Get("user_key"), "credentials are kept, as APIcast keeps them")
	assert.Equal(t, "10.0.0.9, 127.0.0.1", r.Header.Get("X-Forwarded-For"))
	p, _ := f.tx.View().Proxies.Get(f.svc.ID)
	assert.Equal(t, p.SecretToken, r.Header.Get("X-3scale-Proxy-Secret-Token"))

	assert.Equal(t, 8.0, requests(reg, "forwarded"))
	assert.Equal(t, 1.0, requests(reg, "limits_exceeded"))
	assert.Equal(t, 2.0, requests(reg, "auth_failed"))
	assert.Equal(t, 1.0, requests(reg, "auth_missing"))
	assert.Equal(t, 1.0, requests(reg, "no_match"))
}

func TestGatewayCustomErrors(t *testing.T) {
	f := newGatewayFixture(t, backendUserKey)
	f.proxy(t, func(p *composition.Proxy) {
		p.CredentialsLocation = composition.CredentialsHeaders
		p.ErrorAuthMissing, p.ErrorStatusAuthMissing, p.ErrorHeadersAuthMissing = `{"error":"who are you"}`, 401, "application/json"
		p.ErrorAuthFailed, p.ErrorStatusAuthFailed, p.ErrorHeadersAuthFailed = "go away", 418, "text/x-custom"
		p.ErrorNoMatch, p.ErrorStatusNoMatch, p.ErrorHeadersNoMatch = "nothing here", 400, "text/plain"
		p.ErrorLimitsExceeded, p.ErrorStatusLimitsExceeded, p.ErrorHeadersLimitsExceeded = "slow down", 503, "text/slow"
		p.HostnameRewrite = "news.internal"
	})
	up, got := echoUpstream(t, "app")
	_, gw, _ := startTestGateway(t, f, up.URL, f.placement(f.basic), Config{})

	assert.Equal(t, answer{401, "application/json", "{\"error\":\"who are you\"}\n", nil}, strip(call(t, "GET", gw+"/?user_key=basic-key", nil)),
		"the query is not where this service looks")
	assert.Equal(t, answer{418, "text/x-custom", "go away\n", nil}, strip(call(t, "GET", gw+"/", http.Header{"User-Key": {"nope"}})))
	assert.Equal(t, answer{400, "text/plain", "nothing here\n", nil}, strip(call(t, "DELETE", gw+"/", http.Header{"User_key": {"basic-key"}})))
	for range 5 {
		require.Equal(t, 200, call(t, "GET", gw+"/", http.Header{"User_key": {"basic-key"}}).status)
	}
	assert.Equal(t, answer{503, "text/slow", "slow down\n", nil}, strip(call(t, "GET", gw+"/", http.Header{"User_key": {"basic-key"}})))
	r := <-got
	assert.Equal(t, "news.internal", r.Host)
}

func strip(a answer) answer { a.header = nil; return a }

func TestGatewayAppIDAndOIDC(t *testing.T) {
	f := newGatewayFixture(t, backendAppID)
	up, _ := echoUpstream(t, "app")
	_, gw, _ := startTestGateway(t, f, up.URL, f.placement(f.basic, f.premium), Config{})
	assert.Equal(t, 200, call(t, "GET", gw+"/?app_id=premium-key&app_key=premium-key-secret", nil).status)
	assert.Equal(t, 403, call(t, "GET", gw+"/?app_id=premium-key&app_key=wrong", nil).status)
	assert.Equal(t, 403, call(t, "GET", gw+"/?app_id=premium-key", nil).status, "the app has keys: one is required")
	assert.Equal(t, "Authentication parameters missing\n", call(t, "GET", gw+"/?app_key=premium-key-secret", nil).body)

	o := newGatewayFixture(t, backendUserKey)
	svc := *o.svc
	svc.BackendVersion = backendOIDC
	require.NoError(t, o.tx.Update(&svc))
	_, gw, reg := startTestGateway(t, o, up.URL, o.placement(o.basic), Config{})
	// An OIDC service without an issuer cannot check tokens: it fails
	// closed (the OIDC tests, oidc_test.go, run a real issuer).
	a := call(t, "GET", gw+"/", http.Header{"Authorization": {"Bearer eyJhbGciOi"}})
	assert.Equal(t, 503, a.status)
	assert.Contains(t, a.body, "oidc_issuer_endpoint")
	assert.Equal(t, 1.0, requests(reg, "policy_chain_failed"))
}

func TestGatewayRoutesPlansItDoesNotServe(t *testing.T) {
	f := newGatewayFixture(t, backendUserKey)
	local, _ := echoUpstream(t, "local")
	premium1, _ := echoUpstream(t, "premium-1")
	premium2, _ := echoUpstream(t, "premium-2")
	g, gw, reg := startTestGateway(t, f, local.URL, f.placement(f.basic), Config{})

	noRoute := call(t, "GET", gw+"/?user_key=premium-key", nil)
	assert.Equal(t, 503, noRoute.status)
	assert.Contains(t, noRoute.body, `No instance serves plan "premium" of service "news"`)

	instance := func(id, status string, srv *httptest.Server, plans ...*composition.ApplicationPlan) registry.MapInstance {
		host, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
		n, _ := strconv.Atoi(port)
		in := registry.MapInstance{ID: id, Service: "newsapi", Address: host, Port: n, Status: status}
		for _, p := range plans {
			in.Plans = append(in.Plans, registry.PlanRef{ID: p.ID})
		}
		return in
	}
	g.SetMap(&registry.Map{Services: []registry.MapService{{Name: "news", ID: f.svc.ID, Instances: []registry.MapInstance{
		instance("self", registry.StatusPassing, local, f.basic),
		instance("p1", registry.StatusPassing, premium1, f.premium),
		instance("p2", registry.StatusPassing, premium2, f.premium, f.basic),
		instance("down", registry.StatusCritical, local, f.premium),
	}}}})
	seen := map[string]int{}
	for range 4 {
		a := call(t, "GET", gw+"/?user_key=premium-key", nil)
		require.Equal(t, 200, a.status, a.body)
		seen[a.body]++
	}
	assert.Equal(t, map[string]int{"premium-1": 2, "premium-2": 2}, seen, "round-robin over the passing instances serving the plan")
	assert.Equal(t, "local", call(t, "GET", gw+"/?user_key=basic-key", nil).body, "a plan served here stays here")
	assert.Equal(t, 4.0, requests(reg, "routed"))
	assert.Equal(t, 1.0, requests(reg, "no_instance"))

	// Home away: the gossip view knows instances alive, health unknown. They
	// take the plan's traffic; "alive" on a map from home would not.
	alive := []registry.MapInstance{instance("p1", registry.StatusAlive, premium1, f.premium)}
	g.SetMap(&registry.Map{View: registry.ViewGossip, Services: []registry.MapService{{Name: "news", ID: f.svc.ID, Instances: alive}}})
	assert.Equal(t, "premium-1", call(t, "GET", gw+"/?user_key=premium-key", nil).body)
	g.SetMap(&registry.Map{Services: []registry.MapService{{Name: "news", ID: f.svc.ID, Instances: alive}}})
	assert.Equal(t, 503, call(t, "GET", gw+"/?user_key=premium-key", nil).status)
}

func TestGatewayBoundsAndUpstreamErrors(t *testing.T) {
	f := newGatewayFixture(t, backendUserKey)
	up, got := echoUpstream(t, "app")
	_, gw, reg := startTestGateway(t, f, up.URL, f.placement(f.basic, f.premium), Config{MaxBodyBytes: 10})
	resp, err := http.Post(gw+"/?user_key=premium-key", "text/plain", strings.NewReader(strings.Repeat("x", 11)))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	assert.Empty(t, got)
	assert.Equal(t, 1.0, requests(reg, "too_large"))

	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	_, gw2, reg2 := startTestGateway(t, f, dead.URL, f.placement(f.basic, f.premium), Config{})
	a := call(t, "GET", gw2+"/?user_key=premium-key", nil)
	assert.Equal(t, http.StatusBadGateway, a.status)
	assert.NotContains(t, a.body, "premium-key")
	assert.Equal(t, 1.0, requests(reg2, "upstream_error"))
}

func TestGatewayNotReady(t *testing.T) {
	reg := prometheus.NewRegistry()
	u, _ := url.Parse("http://127.0.0.1:1")
	g := New(Config{MaxBodyBytes: 1}, u, "self", &countingLedger{}, reg, zerolog.Nop())
	w := httptest.NewRecorder()
	g.ServeHTTP(w, httptest.NewRequest("GET", "/?user_key=x", nil))
	assert.Equal(t, http.StatusServiceUnavailable, w.Code)
	assert.Equal(t, 1.0, requests(reg, "unavailable"))

	_, _, err := g.buildView(composition.New(), registry.Placement{ServiceID: 42})
	assert.ErrorContains(t, err, "names no service")
}

func TestConfigCheck(t *testing.T) {
	for _, bad := range []Config{{Listen: "", Upstream: "http://x"}, {Listen: ":1", Upstream: "ftp://x"}, {Listen: ":1", Upstream: "127.0.0.1:3000"}} {
		_, err := bad.Check()
		assert.Error(t, err, "%+v", bad)
	}
	c := Config{Listen: ":1", Upstream: "http://127.0.0.1:3000"}
	_, err := c.Check()
	require.NoError(t, err)
	assert.Equal(t, int64(DefaultMaxBody), c.MaxBodyBytes)
	assert.Equal(t, DefaultUpstreamTimeout, c.UpstreamTimeout)

	for flag, cc := range map[string]policy.ContentCaching{
		"--gateway-cache-status-codes: 42 is not an HTTP status": {StatusCodes: []int{200, 42}},
		"--gateway-cache-max-time: -1s is negative":              {MaxTime: -time.Second},
		"--gateway-cache-size: -1 is negative":                   {MaxBytes: -1},
	} {
		c := Config{Listen: ":1", Upstream: "http://127.0.0.1:3000", ContentCaching: cc}
		_, err := c.Check()
		assert.ErrorContains(t, err, flag)
	}
}

// The forwarder: hop-by-hop headers dropped both ways, bodies with a length
// and chunked, streamed answers, connections kept alive and reused, and a
// pooled connection the upstream closed is replaced without the client
// seeing an error.
func TestGatewayForwarding(t *testing.T) {
	f := newGatewayFixture(t, backendUserKey)
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	type seen struct {
		header http.Header
		body   string
		te     []string
		length int64
	}
	got := make(chan seen, 10)
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Header.Clone(), string(b), r.TransferEncoding, r.ContentLength}
		w.Header().Set("Connection", "X-Hop")
		w.Header().Set("X-Hop", "1")
		w.Header().Set("Keep-Alive", "timeout=5")
		w.Header().Set("X-End", "kept")
		if r.URL.Path == "/stream" {
			for i := range 3 {
				_, _ = io.WriteString(w, strconv.Itoa(i))
				w.(http.Flusher).Flush()
			}
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	up.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateNew {
			mu.Lock()
			conns[c] = true
			mu.Unlock()
		}
	}
	up.Start()
	t.Cleanup(up.Close)
	require.NoError(t, f.tx.Create(&composition.MappingRule{OwnerType: composition.OwnerService, OwnerID: f.svc.ID,
		MetricID: f.hits.ID, HTTPMethod: "POST", Pattern: "/", Delta: 1}))
	_, gw, _ := startTestGateway(t, f, up.URL, f.placement(f.premium), Config{})
	key := "?user_key=premium-key"

	req, _ := http.NewRequest("GET", gw+"/"+key, nil)
	req.Header.Set("Connection", "X-Private")
	req.Header.Set("X-Private", "secret")
	req.Header.Set("Proxy-Authorization", "Basic eA==")
	req.Header.Set("X-Kept", "yes")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, "ok", string(b))
	assert.Empty(t, resp.Header.Get("X-Hop"), "listed in the upstream's Connection header")
	assert.Empty(t, resp.Header.Get("Keep-Alive"))
	assert.Equal(t, "kept", resp.Header.Get("X-End"))
	s := <-got
	assert.Empty(t, s.header.Get("X-Private"), "listed in the client's Connection header")
	assert.Empty(t, s.header.Get("Proxy-Authorization"))
	assert.Equal(t, "yes", s.header.Get("X-Kept"))

	resp, err = http.Post(gw+"/upload"+key, "text/plain", strings.NewReader("hello"))
	require.NoError(t, err)
	resp.Body.Close()
	s = <-got
	assert.Equal(t, "hello", s.body)
	assert.Equal(t, int64(5), s.length)
	assert.Len(t, s.header.Values("Content-Length"), 1, "the length is sent once")

	resp, err = http.Post(gw+"/upload"+key, "text/plain", io.MultiReader(strings.NewReader("chun"), strings.NewReader("ked")))
	require.NoError(t, err)
	resp.Body.Close()
	s = <-got
	assert.Equal(t, "chunked", s.body)
	assert.Equal(t, []string{"chunked"}, s.te)

	resp, err = http.Get(gw + "/stream" + key)
	require.NoError(t, err)
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, "012", string(b))
	<-got

	mu.Lock()
	n := len(conns)
	mu.Unlock()
	assert.Equal(t, 1, n, "one kept-alive upstream connection served the sequential requests")

	// The upstream drops its idle connections: the next request still succeeds.
	up.CloseClientConnections()
	time.Sleep(50 * time.Millisecond)
	a := call(t, "GET", gw+"/again"+key, nil)
	assert.Equal(t, 200, a.status)
	<-got
}

func TestGatewayUpstreamTimeout(t *testing.T) {
	f := newGatewayFixture(t, backendUserKey)
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		_, _ = io.WriteString(w, "late")
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) })
	_, gw, reg := startTestGateway(t, f, slow.URL, f.placement(f.premium), Config{UpstreamTimeout: 300 * time.Millisecond})
	start := time.Now()
	a := call(t, "GET", gw+"/slow?user_key=premium-key", nil)
	assert.Equal(t, http.StatusGatewayTimeout, a.status)
	assert.Less(t, time.Since(start), 3*time.Second)
	assert.Equal(t, 1.0, requests(reg, "upstream_error"))
	assert.Equal(t, "late", call(t, "GET", gw+"/fast?user_key=premium-key", nil).body, "a fresh connection serves the next request")
}

// fullLedger refuses every request as a ledger whose spool is full does.
type fullLedger struct{}

func (fullLedger) Admit(int64, []composition.Hit, time.Time, func(composition.Counter) bool) error {
	return errors.New("usage spool full")
}

// A request whose usage cannot be kept is not the client's fault: 503 with a
// body that says why, not a 429 that would blame its limits.
func TestGatewayUsageUnrecordedIs503(t *testing.T) {
	f := newGatewayFixture(t, backendUserKey)
	up, got := echoUpstream(t, "app")
	g, gw, reg := startTestGateway(t, f, up.URL, f.placement(f.basic, f.premium), Config{})
	g.ledger = fullLedger{}
	a := call(t, "GET", gw+"/articles?user_key=basic-key", nil)
	assert.Equal(t, http.StatusServiceUnavailable, a.status)
	assert.Contains(t, a.body, "Usage cannot be recorded")
	assert.Empty(t, got, "not forwarded")
	assert.Equal(t, 1.0, requests(reg, "usage_unrecorded"))
	assert.Equal(t, 0.0, requests(reg, "limits_exceeded"))
}
