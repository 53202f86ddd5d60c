package gateway

import (
	"bufio"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/agent/gateway/policy"
	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/testenv"
)

// cacheGateway is a gateway whose upstream answers every request with how
// many it has served so far, so that a kept answer shows: its headers come
// from the query (?h=Name:value, repeated) and its status from ?status=.
type cacheGateway struct {
	base, basic, key string
	reg              *prometheus.Registry
	served           *atomic.Int64
}

func startCacheGateway(t *testing.T, chainJSON string, settings policy.ContentCaching) *cacheGateway {
	t.Helper()
	f := newGatewayFixture(t, backendUserKey)
	for _, method := range []string{"HEAD", "POST"} {
		require.NoError(t, f.tx.Create(&composition.MappingRule{OwnerType: composition.OwnerService, OwnerID: f.svc.ID,
			MetricID: f.hits.ID, HTTPMethod: method, Pattern: "/", Delta: 1}))
	}
	chain := policyChain(t, chainJSON)
	f.proxy(t, func(p *composition.Proxy) { p.PolicyChain = chain })
	served := &atomic.Int64{}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := served.Add(1)
		for _, h := range r.URL.Query()["h"] {
			k, v, _ := strings.Cut(h, ":")
			w.Header().Add(k, v)
		}
		status := http.StatusOK
		if s := r.URL.Query().Get("status"); s != "" {
			status, _ = strconv.Atoi(s)
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(strconv.FormatInt(n, 10)))
	}))
	t.Cleanup(up.Close)
	_, base, reg := startTestGateway(t, f, up.URL, f.placement(f.basic, f.premium), Config{ContentCaching: settings})
	return &cacheGateway{base: base, basic: "basic-key", key: "premium-key", reg: reg, served: served}
}

func contentCachingChain(rules string) string {
	return `[{"name":"content_caching","version":"builtin","enabled":true,"configuration":{"rules":` + rules + `}},
		{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`
}

// APIcast's README: a rule with "cache": true, "header": "X-Cache-Status",
// and a condition that holds. The first GET is fetched (MISS), the second
// is the kept answer (HIT: the upstream is not asked again), and the
// content_caching counter counts both by status, as APIcast's.
func TestPolicyContentCachingHitAfterMiss(t *testing.T) {
	cg := startCacheGateway(t, contentCachingChain(`[{"cache":true,"header":"X-Cache-Status",
		"condition":{"combine_op":"and","operations":[{"left":"ooo","op":"==","right":"ooo"}]}}]`), policy.ContentCaching{})
	a := call(t, "GET", cg.base+"/things?user_key="+cg.key, nil)
	assert.Equal(t, http.StatusOK, a.status)
	assert.Equal(t, "MISS", a.header.Get("X-Cache-Status"))
	assert.Equal(t, "1", a.body)
	a = call(t, "GET", cg.base+"/things?user_key="+cg.key, nil)
	assert.Equal(t, http.StatusOK, a.status)
	assert.Equal(t, "HIT", a.header.Get("X-Cache-Status"))
	assert.Equal(t, "1", a.body, "the kept answer")
	assert.Equal(t, int64(1), cg.served.Load())
	assert.Equal(t, 1.0, contentCaching(cg.reg, "HIT"))
	assert.Equal(t, 1.0, contentCaching(cg.reg, "MISS"))

	a = call(t, "GET", cg.base+"/things?user_key="+cg.key+"&page=2", nil)
	assert.Equal(t, "MISS", a.header.Get("X-Cache-Status"), "another query is another answer")
	a = call(t, "HEAD", cg.base+"/things?user_key="+cg.key, nil)
	assert.Equal(t, "HIT", a.header.Get("X-Cache-Status"), "a HEAD is answered from the kept GET")
	assert.Empty(t, a.body)
	assert.Equal(t, "1", a.header.Get("Content-Length"))
}

// "conditions can only be applied on the client request": a request for
// which no rule with "cache": true holds neither uses nor fills the cache,
// and gets no cache header. A rule with "cache": false that holds first does
// not stop a later one from enabling it ("if one rule matches, and it
// enables the cache, the execution will be stopped").
func TestPolicyContentCachingRules(t *testing.T) {
	cg := startCacheGateway(t, contentCachingChain(`[
		{"cache":false,"condition":{"combine_op":"and","operations":[{"left":"{{uri}}","left_type":"liquid","op":"matches","right":"^/mixed"}]}},
		{"cache":true,"header":"X-Cache-Status-POLICY","condition":{"combine_op":"or","operations":[
			{"left":"{{uri}}","left_type":"liquid","op":"matches","right":"^/cached"},
			{"left":"{{uri}}","left_type":"liquid","op":"matches","right":"^/mixed"}]}}]`), policy.ContentCaching{})
	for range 2 {
		a := call(t, "GET", cg.base+"/other?user_key="+cg.key, nil)
		assert.Empty(t, a.header.Get("X-Cache-Status-POLICY"))
	}
	assert.Equal(t, int64(2), cg.served.Load(), "not cached")
	call(t, "GET", cg.base+"/cached?user_key="+cg.key, nil)
	a := call(t, "GET", cg.base+"/cached?user_key="+cg.key, nil)
	assert.Equal(t, "HIT", a.header.Get("X-Cache-Status-POLICY"))
	call(t, "GET", cg.base+"/mixed?user_key="+cg.key, nil)
	a = call(t, "GET", cg.base+"/mixed?user_key="+cg.key, nil)
	assert.Equal(t, "HIT", a.header.Get("X-Cache-Status-POLICY"))
}

// nginx's proxy_cache_methods: only GET and HEAD use the cache ("for
// POST/PUT/DELETE method, the recommendation is not have this enabled":
// they never are here).
func TestPolicyContentCachingOnlyGETAndHEAD(t *testing.T) {
	cg := startCacheGateway(t, contentCachingChain(`[{"cache":true}]`), policy.ContentCaching{})
	for range 2 {
		a := call(t, "POST", cg.base+"/things?user_key="+cg.key, nil)
		assert.Equal(t, http.StatusOK, a.status)
		assert.Empty(t, a.header.Get("X-Cache-Status"))
	}
	a := call(t, "HEAD", cg.base+"/head-first?user_key="+cg.key, nil)
	assert.Equal(t, "MISS", a.header.Get("X-Cache-Status"))
	a = call(t, "HEAD", cg.base+"/head-first?user_key="+cg.key, nil)
	assert.Equal(t, "MISS", a.header.Get("X-Cache-Status"), "a HEAD's answer is not kept")
	assert.Equal(t, int64(4), cg.served.Load())
}

// APICAST_CACHE_STATUS_CODES (200 302 by default) and APICAST_CACHE_MAX_TIME:
// "If cache-control header is not set, the time to be cached will be the
// defined one"; once it is over, the next request is fetched again and
// reported EXPIRED, as APIcast's testsuite expects. The upstream's
// Cache-Control and Set-Cookie are respected, as nginx's proxy_cache does.
func TestPolicyContentCachingWhatIsKept(t *testing.T) {
	cg := startCacheGateway(t, contentCachingChain(`[{"cache":true}]`),
		policy.ContentCaching{StatusCodes: []int{200, 404}, MaxTime: 300 * time.Millisecond})
	kept := func(query string, header http.Header) bool {
		t.Helper()
		call(t, "GET", cg.base+"/k?user_key="+cg.key+query, header)
		return call(t, "GET", cg.base+"/k?user_key="+cg.key+query, header).header.Get("X-Cache-Status") == "HIT"
	}
	assert.True(t, kept("&status=404", nil), "a status of the list")
	assert.False(t, kept("&status=302", nil), "a status not in the list")
	assert.False(t, kept("&h=Cache-Control:no-store", nil))
	assert.False(t, kept("&h=Cache-Control:private,max-age=60", nil))
	assert.False(t, kept("&h=Cache-Control:no-cache", nil))
	assert.False(t, kept("&h=Cache-Control:max-age=0", nil))
	assert.False(t, kept("&h=Set-Cookie:session=1", nil))
	assert.False(t, kept("&h=Vary:*", nil))
	assert.False(t, kept("&private=1", http.Header{"Authorization": {"Bearer x"}}),
		"RFC 9111 §3.5: a shared cache keeps an answer to a request with Authorization only when the answer says so")
	assert.True(t, kept("&public=1&h=Cache-Control:public", http.Header{"Authorization": {"Bearer x"}}))

	a := call(t, "GET", cg.base+"/expiring?user_key="+cg.key, nil)
	assert.Equal(t, "MISS", a.header.Get("X-Cache-Status"))
	time.Sleep(400 * time.Millisecond)
	a = call(t, "GET", cg.base+"/expiring?user_key="+cg.key, nil)
	assert.Equal(t, "EXPIRED", a.header.Get("X-Cache-Status"))
	assert.Equal(t, 1.0, contentCaching(cg.reg, "EXPIRED"))
	a = call(t, "GET", cg.base+"/expiring?user_key="+cg.key, nil)
	assert.Equal(t, "HIT", a.header.Get("X-Cache-Status"), "the fetched answer replaced the expired one")

	a = call(t, "GET", cg.base+"/long?user_key="+cg.key+"&h=Cache-Control:max-age=60", nil)
	time.Sleep(400 * time.Millisecond)
	a = call(t, "GET", cg.base+"/long?user_key="+cg.key+"&h=Cache-Control:max-age=60", nil)
	assert.Equal(t, "HIT", a.header.Get("X-Cache-Status"), "the upstream's max-age overrides the max time")
}

// Vary: an answer kept for one value of the headers it varies on is not
// served to a request with another.
func TestPolicyContentCachingVary(t *testing.T) {
	cg := startCacheGateway(t, contentCachingChain(`[{"cache":true}]`), policy.ContentCaching{})
	gz := http.Header{"Accept-Encoding": {"gzip"}}
	call(t, "GET", cg.base+"/v?user_key="+cg.key+"&h=Vary:Accept-Encoding", gz)
	a := call(t, "GET", cg.base+"/v?user_key="+cg.key+"&h=Vary:Accept-Encoding", gz)
	assert.Equal(t, "HIT", a.header.Get("X-Cache-Status"))
	a = call(t, "GET", cg.base+"/v?user_key="+cg.key+"&h=Vary:Accept-Encoding", http.Header{"Accept-Encoding": {"br"}})
	assert.Equal(t, "MISS", a.header.Get("X-Cache-Status"))
}

// A kept answer is served in the content phase, after the access phase: a
// request without valid credentials is refused, and the plan's limits count
// and apply to hits (the basic plan allows 5 a minute).
func TestPolicyContentCachingHitsAreAuthorizedAndCounted(t *testing.T) {
	cg := startCacheGateway(t, contentCachingChain(`[{"cache":true}]`), policy.ContentCaching{})
	a := call(t, "GET", cg.base+"/p?user_key="+cg.key, nil)
	require.Equal(t, "MISS", a.header.Get("X-Cache-Status"))
	a = call(t, "GET", cg.base+"/p?user_key=wrong", nil)
	assert.Equal(t, http.StatusForbidden, a.status)
	for i := range 5 {
		a = call(t, "GET", cg.base+"/b?user_key="+cg.basic, nil)
		assert.Equal(t, http.StatusOK, a.status, "hit %d of 5", i+1)
	}
	a = call(t, "GET", cg.base+"/b?user_key="+cg.basic, nil)
	assert.Equal(t, http.StatusTooManyRequests, a.status)
	assert.Equal(t, int64(2), cg.served.Load())
}

// The kept answer is the upstream's, before the header filters: a response
// header the headers policy adds is added once to a hit, not twice.
func TestPolicyContentCachingKeepsTheUpstreamsHeaders(t *testing.T) {
	cg := startCacheGateway(t, `[
		{"name":"headers","version":"builtin","enabled":true,"configuration":{"response":[{"op":"push","header":"X-Pushed","value":"p"}]}},
		{"name":"content_caching","version":"builtin","enabled":true,"configuration":{"rules":[{"cache":true}]}},
		{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`, policy.ContentCaching{})
	call(t, "GET", cg.base+"/h?user_key="+cg.key, nil)
	a := call(t, "GET", cg.base+"/h?user_key="+cg.key, nil)
	assert.Equal(t, "HIT", a.header.Get("X-Cache-Status"))
	assert.Equal(t, []string{"p"}, a.header.Values("X-Pushed"))
}

// Only the upstream's whole answers are kept: not one cut short (the
// upstream closes the connection before its Content-Length, or before the
// last chunk of a chunked body), nor the gateway's own 502 when the upstream
// cannot be reached, even with 502 among the statuses kept.
func TestPolicyContentCachingKeepsOnlyWholeAnswers(t *testing.T) {
	app := testenv.ServeTCP(t, func(conn net.Conn) {
		defer conn.Close()
		req, err := http.ReadRequest(bufio.NewReader(conn))
		if err != nil {
			return
		}
		if req.URL.Path == "/chunked" {
			_, _ = conn.Write([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nhalf\r\n"))
			return
		}
		_, _ = conn.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf"))
	})
	f := newGatewayFixture(t, backendUserKey)
	chain := policyChain(t, contentCachingChain(`[{"cache":true}]`))
	f.proxy(t, func(p *composition.Proxy) { p.PolicyChain = chain })
	_, base, _ := startTestGateway(t, f, "http://"+app, f.placement(f.basic, f.premium), Config{})
	for _, path := range []string{"/cut", "/cut", "/chunked", "/chunked"} {
		resp, err := http.Get(base + path + "?user_key=premium-key")
		if err == nil {
			assert.Equal(t, "MISS", resp.Header.Get("X-Cache-Status"), "never a hit: %s", path)
			_ = resp.Body.Close()
		}
	}

	gone, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	require.NoError(t, gone.Close())
	_, base, _ = startTestGateway(t, f, "http://"+gone.Addr().String(), f.placement(f.basic, f.premium),
		Config{ContentCaching: policy.ContentCaching{StatusCodes: []int{200, 502}}})
	for range 2 {
		a := call(t, "GET", base+"/down?user_key=premium-key", nil)
		assert.Equal(t, http.StatusBadGateway, a.status)
		assert.Equal(t, "MISS", a.header.Get("X-Cache-Status"))
	}
}

// The rules' schema: rules (at least one), cache required, header a header
// name, condition as APIcast's conditions; a bad one fails closed naming
// the field.
func TestPolicyContentCachingInvalidConfigurationFailsClosed(t *testing.T) {
	for conf, field := range map[string]string{
		`{}`:                      "rules",
		`{"rules":[]}`:            "rules",
		`{"rules":[{}]}`:          "rules[0].cache",
		`{"rules":[{"cache":1}]}`: "rules.cache",
		`{"rules":[{"cache":true,"header":"Bad Header"}]}`:                                                                   "rules[0].header",
		`{"rules":[{"cache":true,"condition":{"combine_op":"and","operations":[]}}]}`:                                        "rules[0].condition.operations",
		`{"rules":[{"cache":true,"condition":{"combine_op":"and","operations":[{"left":"a","op":"~","right":"a"}]}}]}`:       "rules[0].condition.operations[0].op",
		`{"rules":[{"cache":true},{"cache":true,"condition":{"operations":[{"left":"a","op":"==","right":"a"}]}}]}`:          "rules[1].condition.combine_op",
		`{"rules":[{"cache":true,"condition":{"combine_op":"and","operations":[{"left":"a","op":"matches","right":"("}]}}]}`: "rules[0].condition.operations[0].right",
	} {
		cg := startChainGateway(t, `[{"name":"content_caching","version":"builtin","enabled":true,"configuration":`+conf+`},
			{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`)
		a := call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
		assert.Equal(t, http.StatusServiceUnavailable, a.status, conf)
		assert.Contains(t, a.body, `policy "content_caching"`, conf)
		assert.Contains(t, a.body, "configuration."+field, conf)
	}
}

func contentCaching(reg *prometheus.Registry, status string) float64 {
	return counterValue(reg, "content_caching", "status", status)
}
