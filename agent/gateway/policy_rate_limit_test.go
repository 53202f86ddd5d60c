package gateway

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/agent/ledger"
	"github.com/portolan/portolan/composition"
)

// The rate_limit policy through the running gateway, APIcast's README
// (gateway/src/apicast/policy/rate_limit/README.md) as the oracle.

func rateLimitChain(conf string) string {
	return `[{"name":"rate_limit","version":"builtin","enabled":true,"configuration":` + conf + `},
		{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`
}

func statuses(t *testing.T, n int, target string, header http.Header) []int {
	t.Helper()
	out := make([]int, n)
	for i := range out {
		out[i] = call(t, "GET", target, header).status
	}
	return out
}

// "fixed_window_limiters: `count`, `window`. Can make up to `count` requests
// per `window` seconds." Over it: "exit (denies the request)" with the
// default status_code 429, and the upstream is not reached.
func TestRateLimitFixedWindowAllowsCountPerWindow(t *testing.T) {
	cg := startChainGateway(t, rateLimitChain(`{"fixed_window_limiters":[
		{"key":{"name":"service_A"},"count":3,"window":60}]}`))
	got := statuses(t, 5, cg.base+"/?user_key="+cg.key, nil)
	assert.Equal(t, []int{200, 200, 200, 429, 429}, got)
	assert.Len(t, cg.got, 3, "the rejected requests never reach the app")
	assert.Equal(t, 2.0, policyEvents(cg.reg, "rate_limit", "rejected"))
}

// "window": "The time window in seconds before the request count is reset".
func TestRateLimitFixedWindowResetsAfterWindow(t *testing.T) {
	cg := startChainGateway(t, rateLimitChain(`{"fixed_window_limiters":[
		{"key":{"name":"w"},"count":1,"window":1}]}`))
	// Start right after a second begins, so both calls share a window.
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
	assert.Equal(t, []int{200, 429}, statuses(t, 2, cg.base+"/?user_key="+cg.key, nil))
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
	assert.Equal(t, 200, call(t, "GET", cg.base+"/?user_key="+cg.key, nil).status, "a new window counts from zero")
}

// "we can define `{{ remote_addr }}` to limit by the client IP" and
// "headers['Some-Header']": a Liquid key counts each value apart.
func TestRateLimitLiquidKeyByHeaderAndRemoteAddr(t *testing.T) {
	cg := startChainGateway(t, rateLimitChain(`{"fixed_window_limiters":[
		{"key":{"name":"{{ headers['App-Id'] }}","name_type":"liquid"},"count":1,"window":60},
		{"key":{"name":"{{ remote_addr }}","name_type":"liquid"},"count":3,"window":60}]}`))
	u := cg.base + "/?user_key=" + cg.key
	assert.Equal(t, []int{200, 429}, statuses(t, 2, u, http.Header{"App-Id": {"app_id_1"}}), "app_id_1: one request")
	assert.Equal(t, []int{200, 429}, statuses(t, 2, u, http.Header{"App-Id": {"app_id_2"}}), "app_id_2 counts apart")
	// 127.0.0.1 has made 2 requests that passed (the rejected ones were taken back): one more, then its limit.
	assert.Equal(t, []int{200, 429}, statuses(t, 2, u, http.Header{"App-Id": {"app_id_3"}}))
	assert.Equal(t, 429, call(t, "GET", u, http.Header{"App-Id": {"app_id_4"}}).status, "{{ remote_addr }}: 3 requests from 127.0.0.1")
}

// name_type "plain" (the default): "{{ remote_addr }}" is the key's text,
// one counter for every client.
func TestRateLimitPlainKeyIsText(t *testing.T) {
	cg := startChainGateway(t, rateLimitChain(`{"fixed_window_limiters":[
		{"key":{"name":"{{ headers['App-Id'] }}"},"count":1,"window":60}]}`))
	u := cg.base + "/?user_key=" + cg.key
	assert.Equal(t, 200, call(t, "GET", u, http.Header{"App-Id": {"a"}}).status)
	assert.Equal(t, 429, call(t, "GET", u, http.Header{"App-Id": {"b"}}).status)
}

// "leaky_bucket_limiters: `rate`, `burst`. Can make up to `rate` requests per
// second. It allows exceeding that number by `burst` requests per second,
// although an artificial delay is introduced for those requests between
// `rate` and `burst`": four requests at once with rate 1 and burst 2: one
// now, one after 1/rate, one after 2/rate, the fourth rejected at once.
// Steps of a whole second leave room for a loaded machine's latency.
func TestRateLimitLeakyBucketDelaysBurstAndRejectsBeyond(t *testing.T) {
	cg := startChainGateway(t, rateLimitChain(`{"leaky_bucket_limiters":[
		{"key":{"name":"service_A"},"rate":1,"burst":2}]}`))
	type result struct {
		status int
		took   time.Duration
	}
	results := make([]result, 4)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() {
			start := time.Now()
			s := call(t, "GET", cg.base+"/?user_key="+cg.key, nil).status
			results[i] = result{s, time.Since(start)}
		})
	}
	wg.Wait()
	var ok []time.Duration
	rejected := 0
	for _, r := range results {
		switch r.status {
		case 200:
			ok = append(ok, r.took)
		case 429:
			rejected++
			assert.Less(t, r.took, 800*time.Millisecond, "a rejection is not delayed")
		default:
			t.Fatalf("unexpected status %d", r.status)
		}
	}
	require.Len(t, ok, 3, "rate + burst requests pass: %v", results)
	assert.Equal(t, 1, rejected)
	slices.Sort(ok)
	assert.Less(t, ok[0], 800*time.Millisecond, "the first request is not delayed")
	assert.GreaterOrEqual(t, ok[1], 900*time.Millisecond, "the second waits about 1/rate = 1 s")
	assert.Less(t, ok[1], 1800*time.Millisecond)
	assert.GreaterOrEqual(t, ok[2], 1900*time.Millisecond, "the third waits about 2/rate = 2 s")
	assert.Equal(t, 2.0, policyEvents(cg.reg, "rate_limit", "delayed"))
}

// heldUpstream holds each request until release is closed.
func heldUpstream(t *testing.T) (url string, entered chan struct{}, release chan struct{}) {
	entered, release = make(chan struct{}, 10), make(chan struct{})
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-release
		_, _ = w.Write([]byte("app"))
	}))
	t.Cleanup(s.Close)
	return s.URL, entered, release
}

// "connection_limiters: `conn`, `burst`, `delay`. `conn` is the max number
// of concurrent connections allowed. It allows exceeding that number by
// `burst` connections [...]. `delay` is the number of seconds to delay the
// connections that exceed the limit." A connection leaves when its request
// is done (the log phase): a request after it is neither delayed nor refused.
func TestRateLimitConnectionsDelayBurstRejectBeyondAndLeave(t *testing.T) {
	f := newGatewayFixture(t, backendUserKey)
	f.proxy(t, func(p *composition.Proxy) {
		p.PolicyChain = policyChain(t, rateLimitChain(`{"connection_limiters":[
			{"key":{"name":"service_B"},"conn":1,"burst":1,"delay":0.5}]}`))
	})
	up, entered, release := heldUpstream(t)
	_, base, _ := startTestGateway(t, f, up, f.placement(f.basic, f.premium), Config{})
	u := base + "/?user_key=premium-key"

	first := make(chan int, 1)
	go func() { first <- call(t, "GET", u, nil).status }()
	<-entered // the first connection is in
	second := make(chan time.Duration, 1)
	start := time.Now()
	go func() { call(t, "GET", u, nil); second <- time.Since(start) }()
	select {
	case <-entered:
		t.Fatal("the second connection (over conn, within burst) reached the app without delay")
	case <-time.After(300 * time.Millisecond):
	}
	select {
	case <-entered: // delayed by 0.5 s, then forwarded
	case <-time.After(3 * time.Second):
		t.Fatal("the delayed connection never reached the app")
	}
	assert.GreaterOrEqual(t, time.Since(start), 450*time.Millisecond)
	a := call(t, "GET", u, nil)
	assert.Equal(t, http.StatusTooManyRequests, a.status, "a third connection is beyond conn + burst")
	close(release)
	assert.Equal(t, 200, <-first)
	<-second
	start = time.Now()
	assert.Equal(t, 200, call(t, "GET", u, nil).status, "the connections left: a new one passes")
	assert.Less(t, time.Since(start), 400*time.Millisecond, "and is not delayed")
}

// "limits_exceeded_error": status_code "The status code when requests over
// the limit"; error_handling "log": "Let the request go through and only
// output logs".
func TestRateLimitExceededErrorStatusAndLogOnly(t *testing.T) {
	cg := startChainGateway(t, rateLimitChain(`{"fixed_window_limiters":[
		{"key":{"name":"a"},"count":1,"window":60}],
		"limits_exceeded_error":{"status_code":503}}`))
	assert.Equal(t, []int{200, 503}, statuses(t, 2, cg.base+"/?user_key="+cg.key, nil))

	cg = startChainGateway(t, rateLimitChain(`{"fixed_window_limiters":[
		{"key":{"name":"a"},"count":1,"window":60}],
		"limits_exceeded_error":{"status_code":503,"error_handling":"log"}}`))
	assert.Equal(t, []int{200, 200, 200}, statuses(t, 3, cg.base+"/?user_key="+cg.key, nil))
	assert.Equal(t, 2.0, policyEvents(cg.reg, "rate_limit", "exceeded_logged"))
}

// rate_limit.lua answers with "return ngx.exit(error_settings[type]
// ["status_code"])" and writes no body: nginx sends its own error page for
// the status (ngx_http_special_response.c), text/html, ending with the tail
// of server_tokens off (APIcast's nginx.conf), which OpenResty signs
// "openresty". A status nginx has no page for is sent with an empty body.
func TestRateLimitAnswersWithNginxsErrorPage(t *testing.T) {
	page := func(title string) string {
		return "<html>\r\n<head><title>" + title + "</title></head>\r\n<body>\r\n<center><h1>" + title +
			"</h1></center>\r\n<hr><center>openresty</center>\r\n</body>\r\n</html>\r\n"
	}
	for _, tc := range []struct {
		conf, contentType, body string
		status                  int
	}{
		{`{}`, "text/html", page("429 Too Many Requests"), 429},
		{`{"status_code":503}`, "text/html", page("503 Service Temporarily Unavailable"), 503},
		{`{"status_code":422}`, "", "", 422},
	} {
		cg := startChainGateway(t, rateLimitChain(`{"fixed_window_limiters":[{"key":{"name":"a"},"count":1,"window":60}],
			"limits_exceeded_error":`+tc.conf+`}`))
		require.Equal(t, http.StatusOK, call(t, "GET", cg.base+"/?user_key="+cg.key, nil).status)
		a := call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
		assert.Equal(t, tc.status, a.status, tc.conf)
		assert.Equal(t, tc.contentType, a.contentType, tc.conf)
		assert.Equal(t, tc.body, a.body, tc.conf)
	}

	// configuration_error: the same, 500 by default.
	cg := startChainGateway(t, rateLimitChain(`{"fixed_window_limiters":[{"key":{"name":"g","scope":"global"},"count":5,"window":60}]}`))
	cg.g.global = failingGlobal{}
	cg.f.proxy(t, func(p *composition.Proxy) { p.ErrorStatusAuthMissing = 401 })
	_, err := cg.g.Update(agentView(t, cg.f.tx.Result(), cg.f.svc.SystemName), cg.f.placement(cg.f.basic, cg.f.premium))
	require.NoError(t, err)
	a := call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
	assert.Equal(t, http.StatusInternalServerError, a.status)
	assert.Equal(t, "text/html", a.contentType)
	assert.Equal(t, page("500 Internal Server Error"), a.body)
}

// "Limits with conditions [...] a limit that applies only when the path of
// the request matches `/v1/.*/something/.*`", with "==" and "!=" combined by
// combine_op.
func TestRateLimitConditionSelectsRequests(t *testing.T) {
	cg := startChainGateway(t, rateLimitChain(`{"fixed_window_limiters":[
		{"key":{"name":"limit_path"},"count":1,"window":60,"condition":{"operations":[
			{"left":"{{ uri }}","left_type":"liquid","op":"matches","right":"/v1/.*/something/.*","right_type":"plain"}]}},
		{"key":{"name":"app_id_1_path_1"},"count":1,"window":60,"condition":{"combine_op":"and","operations":[
			{"left":"{{ uri }}","left_type":"liquid","op":"==","right":"/path1"},
			{"left":"{{ headers['app-id'] }}","left_type":"liquid","op":"!=","right":"app_id_2"}]}}]}`))
	k := "?user_key=" + cg.key
	assert.Equal(t, []int{200, 429}, statuses(t, 2, cg.base+"/v1/x/something/y"+k, nil))
	assert.Equal(t, []int{200, 200}, statuses(t, 2, cg.base+"/v1/other"+k, nil), "no condition holds: no limit")
	assert.Equal(t, []int{200, 429}, statuses(t, 2, cg.base+"/path1"+k, http.Header{"App-Id": {"app_id_1"}}))
	assert.Equal(t, []int{200, 200}, statuses(t, 2, cg.base+"/path1"+k, http.Header{"App-Id": {"app_id_2"}}), "and: one operation false")
}

// "When several of them apply, going over the limits for one of them is
// enough to reject the request": and what the others counted is taken back.
func TestRateLimitAnyLimiterRejects(t *testing.T) {
	cg := startChainGateway(t, rateLimitChain(`{"fixed_window_limiters":[
		{"key":{"name":"wide"},"count":3,"window":60},
		{"key":{"name":"{{ uri }}","name_type":"liquid"},"count":1,"window":60}]}`))
	k := "?user_key=" + cg.key
	assert.Equal(t, 200, call(t, "GET", cg.base+"/a"+k, nil).status)
	assert.Equal(t, 429, call(t, "GET", cg.base+"/a"+k, nil).status, "the per-uri limit")
	assert.Equal(t, 200, call(t, "GET", cg.base+"/b"+k, nil).status)
	assert.Equal(t, 200, call(t, "GET", cg.base+"/c"+k, nil).status, "the rejected /a did not count against wide")
	assert.Equal(t, 429, call(t, "GET", cg.base+"/d"+k, nil).status, "wide: 3 requests")
}

// Counters outlive the chain: a new composition revision rebuilds it, and the
// window's count goes on (APIcast keeps them in a lua_shared_dict).
func TestRateLimitCountersSurviveChainRebuild(t *testing.T) {
	cg := startChainGateway(t, rateLimitChain(`{"fixed_window_limiters":[
		{"key":{"name":"a"},"count":2,"window":60}]}`))
	u := cg.base + "/?user_key=" + cg.key
	assert.Equal(t, 200, call(t, "GET", u, nil).status)
	cg.f.proxy(t, func(p *composition.Proxy) { p.ErrorStatusAuthMissing = 401 }) // a new revision
	updated, err := cg.g.Update(agentView(t, cg.f.tx.Result(), cg.f.svc.SystemName), cg.f.placement(cg.f.basic, cg.f.premium))
	require.NoError(t, err)
	require.True(t, updated)
	assert.Equal(t, []int{200, 429}, statuses(t, 2, u, nil), "the count went on across the rebuild")
}

// The schema's constraints are checked when the chain is loaded: the service
// fails closed naming the field.
func TestRateLimitInvalidConfigFailsClosedNamingField(t *testing.T) {
	cg := startChainGateway(t, rateLimitChain(`{"fixed_window_limiters":[{"key":{"name":"a"},"count":0,"window":60}]}`))
	a := call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
	assert.Equal(t, http.StatusServiceUnavailable, a.status)
	assert.Contains(t, a.body, "fixed_window_limiters[0].count")
}

// failingGlobal is a cluster-wide count that cannot be had.
type failingGlobal struct{}

func (failingGlobal) AddGlobal(string, time.Time, time.Duration, int64) (int64, error) {
	return 0, fmt.Errorf("home's counts unavailable")
}

// "configuration_error": "The status code when there is some configuration
// issue" (APIcast: Redis unreachable); "log" lets the request through.
func TestRateLimitConfigurationError(t *testing.T) {
	for _, tc := range []struct {
		conf   string
		status int
	}{{`{}`, 500}, {`{"status_code":502}`, 502}, {`{"error_handling":"log"}`, 200}} {
		cg := startChainGateway(t, rateLimitChain(`{"fixed_window_limiters":[
			{"key":{"name":"g","scope":"global"},"count":5,"window":60}],"configuration_error":`+tc.conf+`}`))
		cg.g.global = failingGlobal{}
		cg.f.proxy(t, func(p *composition.Proxy) { p.ErrorStatusAuthMissing = 401 })
		_, err := cg.g.Update(agentView(t, cg.f.tx.Result(), cg.f.svc.SystemName), cg.f.placement(cg.f.basic, cg.f.premium))
		require.NoError(t, err)
		assert.Equal(t, tc.status, call(t, "GET", cg.base+"/?user_key="+cg.key, nil).status, tc.conf)
	}
}

// A global fixed window is counted by the agent's ledger (Env.Global), which
// carries it home; without home the ledger's own count is the total.
func TestRateLimitGlobalCountedByLedger(t *testing.T) {
	f := newGatewayFixture(t, backendUserKey)
	f.proxy(t, func(p *composition.Proxy) {
		p.PolicyChain = policyChain(t, rateLimitChain(`{"fixed_window_limiters":[
			{"key":{"name":"g","scope":"global"},"count":2,"window":3600}]}`))
	})
	up, _ := echoUpstream(t, "app")
	l, err := ledger.New("", "self", func() int64 { return f.svc.ID }, zerolog.Nop())
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); l.Run(ctx, nil, 50*time.Millisecond) }()
	t.Cleanup(func() { cancel(); <-done })
	cfg := Config{Listen: "127.0.0.1:0", Upstream: up.URL}
	u, err := cfg.Check()
	require.NoError(t, err)
	g := New(cfg, u, "self", l, prometheus.NewRegistry(), zerolog.Nop())
	require.NotNil(t, g.global, "the ledger counts global limits")
	_, err = g.Update(agentView(t, f.tx.Result(), f.svc.SystemName), f.placement(f.premium))
	require.NoError(t, err)
	ln, err := net.Listen("tcp", cfg.Listen)
	require.NoError(t, err)
	gctx, gcancel := context.WithCancel(context.Background())
	gdone := make(chan error, 1)
	go func() { gdone <- g.Run(gctx, ln) }()
	t.Cleanup(func() { gcancel(); <-gdone })
	target := "http://" + ln.Addr().String() + "/?user_key=premium-key"
	assert.Equal(t, 200, call(t, "GET", target, nil).status)
	time.Sleep(200 * time.Millisecond) // reported (locally): the count is now the ledger's total
	assert.Equal(t, []int{200, 429}, statuses(t, 2, target, nil))
	start := time.Unix(time.Now().Unix()-time.Now().Unix()%3600, 0)
	n, err := l.AddGlobal("fixed_window_g", start, time.Hour, 0)
	require.NoError(t, err)
	assert.Equal(t, int64(2), n, "the ledger holds the window's count")
}

// BenchmarkPolicyRateLimit is the cost of a fixed window keyed by the
// client's address in front of the apicast element.
func BenchmarkPolicyRateLimit(b *testing.B) {
	f := newGatewayFixture(b, backendUserKey)
	f.tx.Update(func() *composition.Proxy {
		p, _ := f.tx.View().Proxies.Get(f.svc.ID)
		n := *p
		n.PolicyChain = policyChain(b, rateLimitChain(`{"fixed_window_limiters":[
			{"key":{"name":"{{ remote_addr }}","name_type":"liquid"},"count":1000000000,"window":60}]}`))
		return &n
	}())
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) }))
	b.Cleanup(up.Close)
	g, _, _ := startTestGateway(b, f, up.URL, f.placement(f.basic, f.premium), Config{})
	req := httptest.NewRequest(http.MethodGet, "/health?user_key=premium-key", nil)
	w := &discardResponse{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		clear(w.h)
		g.ServeHTTP(w, req)
	}
}
