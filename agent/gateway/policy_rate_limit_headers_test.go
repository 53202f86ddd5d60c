package gateway

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/agent/ledger"
	"github.com/portolan/portolan/composition"
)

// rateLimitHeadersGateway runs chainJSON on a service with a method search
// (GET /search adds one search and, with the fixture's "/" rule, two hits)
// and two plans besides the fixture's basic (hits: 5 a minute) and premium
// (no limits): "metered-key"'s limits hits to 7 a minute and 1000 a day and
// search to 3 an hour; "lifetime-key"'s hits to 100 for eternity and search
// to 3 an hour. upstream is where it forwards ("": an echo upstream).
func rateLimitHeadersGateway(t *testing.T, chainJSON, upstream string) *chainGateway {
	t.Helper()
	f := newGatewayFixture(t, backendUserKey)
	search := &composition.Metric{OwnerType: composition.OwnerService, OwnerID: f.svc.ID, ParentID: f.hits.ID,
		Name: "search", SystemName: "search", FriendlyName: "Search", Unit: "hit"}
	require.NoError(t, f.tx.Create(search))
	require.NoError(t, f.tx.Create(&composition.MappingRule{OwnerType: composition.OwnerService, OwnerID: f.svc.ID,
		MetricID: search.ID, HTTPMethod: "GET", Pattern: "/search", Delta: 1}))
	plan := func(name, key string, limits ...composition.UsageLimit) *composition.ApplicationPlan {
		p := &composition.ApplicationPlan{ServiceID: f.svc.ID, Name: name}
		require.NoError(t, f.tx.Create(p))
		for _, l := range limits {
			l.PlanID = p.ID
			require.NoError(t, f.tx.Create(&l))
		}
		require.NoError(t, f.tx.Create(&composition.Application{AccountID: f.basicApp.AccountID, ServiceID: f.svc.ID,
			PlanID: p.ID, Name: name, State: composition.AppLive, UserKey: key}))
		return p
	}
	metered := plan("Metered", "metered-key",
		composition.UsageLimit{MetricID: f.hits.ID, Period: "minute", Value: 7},
		composition.UsageLimit{MetricID: f.hits.ID, Period: "day", Value: 1000},
		composition.UsageLimit{MetricID: search.ID, Period: "hour", Value: 3})
	lifetime := plan("Lifetime", "lifetime-key",
		composition.UsageLimit{MetricID: f.hits.ID, Period: "eternity", Value: 100},
		composition.UsageLimit{MetricID: search.ID, Period: "hour", Value: 3})
	f.proxy(t, func(p *composition.Proxy) { p.PolicyChain = policyChain(t, chainJSON) })
	up, got := echoUpstream(t, "app")
	if upstream == "" {
		upstream = up.URL
	}
	g, base, reg := startTestGateway(t, f, upstream, f.placement(f.basic, f.premium, metered, lifetime), Config{})
	return &chainGateway{f: f, g: g, base: base, got: got, reg: reg, up: upstream, basic: "basic-key", key: "premium-key"}
}

const rateLimitHeadersChain = `[{"name":"rate_limit_headers","version":"builtin","configuration":{},"enabled":true},
	{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`

// freshMinute waits for the next minute when this one is about to end: the
// limits' counts must stay in one minute (and hour) for the values to be
// known.
func freshMinute(t *testing.T) {
	t.Helper()
	now := time.Now()
	if left := now.Truncate(time.Minute).Add(time.Minute).Sub(now); left < 5*time.Second {
		time.Sleep(left + 50*time.Millisecond)
	}
}

// limitsCall is a GET through the gateway, with when it was sent and
// answered to bound RateLimit-Reset.
type limitsCall struct {
	answer
	sent, answered time.Time
}

func getLimits(t *testing.T, target string) limitsCall {
	t.Helper()
	sent := time.Now()
	a := call(t, "GET", target, nil)
	return limitsCall{a, sent, time.Now()}
}

// assertLimits checks RateLimit-Limit and -Remaining, and that
// RateLimit-Reset is the seconds, rounded up, from the moment of the answer
// to the end of period.
func assertLimits(t *testing.T, c limitsCall, limit, remaining int, period string) {
	t.Helper()
	require.Equal(t, http.StatusOK, c.status, c.body)
	assert.Equal(t, []string{strconv.Itoa(limit)}, c.header.Values("RateLimit-Limit"), "RateLimit-Limit")
	assert.Equal(t, []string{strconv.Itoa(remaining)}, c.header.Values("RateLimit-Remaining"), "RateLimit-Remaining")
	_, end := composition.PeriodBounds(period, c.sent)
	ceil := func(d time.Duration) int64 { return int64((d + time.Second - 1) / time.Second) }
	reset, err := strconv.ParseInt(c.header.Get("RateLimit-Reset"), 10, 64)
	require.NoError(t, err, "RateLimit-Reset is an integer: %q", c.header.Get("RateLimit-Reset"))
	assert.GreaterOrEqual(t, reset, ceil(end.Sub(c.answered)), "RateLimit-Reset: the seconds to the end of the %s", period)
	assert.LessOrEqual(t, reset, ceil(end.Sub(c.sent)), "RateLimit-Reset: the seconds to the end of the %s", period)
}

func assertNoLimits(t *testing.T, a answer, why string) {
	t.Helper()
	for _, h := range []string{"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} {
		assert.Empty(t, a.header.Values(h), "%s: no %s", why, h)
	}
}

// The README: "This policy send the headers back to the user with the rate
// limit information" from apisonator's limit_headers, whose extensions.md
// defines it as "the longest period with the most constrained amount of hits
// left applying to the combination of metrics being authorized, with the
// latter constraint taking precedence": the remaining is the "number of
// hits left for the full combination of metrics" (identical requests: a
// /search adds two hits), the reset "the number of seconds left for the
// current limiting period", the limit "the maximum total number of hits
// allowed in the current limiting period". Only the limits of the metrics
// the request adds to count (a / adds no search), and a 429 for the plan's
// limits carries none: APIcast's limits_exceeded answers in the access
// phase, before the policy's content phase sets them.
func TestPolicyRateLimitHeadersReportTheMostConstrainedLimit(t *testing.T) {
	freshMinute(t)
	cg := rateLimitHeadersGateway(t, rateLimitHeadersChain, "")
	search, root := cg.base+"/search?user_key=metered-key", cg.base+"/?user_key=metered-key"

	// hits: 2 of 7 this minute, (7-2)/2 = 2 more searches; search: 1 of 3
	// this hour, 2 more: a tie, the hour's the longer period.
	assertLimits(t, getLimits(t, search), 3, 2, "hour")
	// hits 4 of 7: (7-4)/2 = 1; search 2 of 3: 1. The hour again.
	assertLimits(t, getLimits(t, search), 3, 1, "hour")
	// A / adds one hit and no search: hits 5 of 7 leaves 2 this minute,
	// 995 today.
	assertLimits(t, getLimits(t, root), 7, 2, "minute")
	// hits 7 of 7 and search 3 of 3: none left for either, the hour wins.
	assertLimits(t, getLimits(t, search), 3, 0, "hour")

	for _, target := range []string{root, search} {
		a := call(t, "GET", target, nil)
		assert.Equal(t, http.StatusTooManyRequests, a.status, a.body)
		assertNoLimits(t, a, "the plan's 429")
	}
	assert.Equal(t, 4.0, policyEvents(cg.reg, "rate_limit_headers", "reported"))

	// The fixture's basic plan, on its own counters, limits hits alone (5 a
	// minute): a /search adds two, so (5-2)/2 = 1 more; then a / adds one,
	// (5-3)/1 = 2.
	assertLimits(t, getLimits(t, cg.base+"/search?user_key="+cg.basic), 5, 1, "minute")
	assertLimits(t, getLimits(t, cg.base+"/?user_key="+cg.basic), 5, 2, "minute")
}

// apisonator: with no limit on the request's metrics "remaining" and "reset"
// are -1 ("A negative integer value means there is no limit"), and for an
// eternity limit the reset is -1 too; APIcast's add_headers skips the
// headers when the reset is not positive. An hour's limit still wins over
// an eternity one with more requests left.
func TestPolicyRateLimitHeadersNoLimitsNoHeaders(t *testing.T) {
	freshMinute(t)
	cg := rateLimitHeadersGateway(t, rateLimitHeadersChain, "")
	a := call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
	require.Equal(t, http.StatusOK, a.status, a.body)
	assertNoLimits(t, a, "a plan without limits")

	a = call(t, "GET", cg.base+"/?user_key=lifetime-key", nil)
	require.Equal(t, http.StatusOK, a.status, a.body)
	assertNoLimits(t, a, "hits limited for eternity only")
	// hits: 3 of 100 for eternity, (100-3)/2 = 48 searches; search: 1 of 3
	// this hour, 2.
	assertLimits(t, getLimits(t, cg.base+"/search?user_key=lifetime-key"), 3, 2, "hour")
	assert.Equal(t, 1.0, policyEvents(cg.reg, "rate_limit_headers", "reported"))
}

// APIcast sets the headers in the content phase, so they come on whatever
// answers after the apicast policy admitted the request: here the upstream's
// 503, whose own RateLimit-Limit is replaced. The apicast element's own
// refusals (unknown key, missing credentials, no mapping rule) carry none.
func TestPolicyRateLimitHeadersOnTheUpstreamsAnswer(t *testing.T) {
	freshMinute(t)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("RateLimit-Limit", "999")
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(up.Close)
	cg := rateLimitHeadersGateway(t, rateLimitHeadersChain, up.URL)
	c := getLimits(t, cg.base+"/?user_key=metered-key")
	assert.Equal(t, http.StatusServiceUnavailable, c.status)
	c.status = http.StatusOK // assertLimits reads an admitted request's
	assertLimits(t, c, 7, 6, "minute")

	for target, status := range map[string]int{
		cg.base + "/?user_key=nobody": http.StatusForbidden,
		cg.base + "/":                 http.StatusForbidden,
	} {
		a := call(t, "GET", target, nil)
		assert.Equal(t, status, a.status, target)
		assertNoLimits(t, a, target)
	}
	a := call(t, "POST", cg.base+"/?user_key=metered-key", nil)
	assert.Equal(t, http.StatusNotFound, a.status, "no rule for POST")
	assertNoLimits(t, a, "no mapping rule")
}

// In APIcast the policy's place matters (after the apicast policy it
// subscribes to backend's answer too late and reports an earlier request's
// cached numbers); here the apicast element computes them wherever the
// policy is, and without the policy in the chain it computes nothing.
func TestPolicyRateLimitHeadersAnywhereInTheChainOnlyWithThePolicy(t *testing.T) {
	freshMinute(t)
	cg := rateLimitHeadersGateway(t, `[{"name":"apicast","version":"builtin","configuration":{},"enabled":true},
		{"name":"rate_limit_headers","version":"builtin","configuration":{},"enabled":true}]`, "")
	assertLimits(t, getLimits(t, cg.base+"/search?user_key=metered-key"), 3, 2, "hour")

	cg = rateLimitHeadersGateway(t, `[{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`, "")
	a := call(t, "GET", cg.base+"/search?user_key=metered-key", nil)
	require.Equal(t, http.StatusOK, a.status, a.body)
	assertNoLimits(t, a, "no rate_limit_headers in the chain")
}

// APIcast's rate_limit_headers.t "batcher policy is working correctly": with
// 3scale_batcher the numbers come from backend's authorize, which does not
// count the request, then one less a request from its cache. The gateway
// authorizes every request locally with or without the batcher: the numbers
// count the request, as without it. With the caching policy and home away
// the ledger's local counts still give them (resilient); a request the allow
// mode serves uncounted (the spool full) gets none, as APIcast's when
// backend cannot answer.
func TestPolicyRateLimitHeadersWithBatcherAndCaching(t *testing.T) {
	freshMinute(t)
	cg := rateLimitHeadersGateway(t, `[{"name":"rate_limit_headers","version":"builtin","configuration":{},"enabled":true},
		{"name":"3scale_batcher","version":"builtin","configuration":{"batch_report_seconds":1},"enabled":true},
		{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`, "")
	assertLimits(t, getLimits(t, cg.base+"/?user_key=metered-key"), 7, 6, "minute")
	assertLimits(t, getLimits(t, cg.base+"/?user_key=metered-key"), 7, 5, "minute")

	for _, mode := range []string{"resilient", "allow"} {
		cg = rateLimitHeadersGateway(t, `[{"name":"rate_limit_headers","version":"builtin","configuration":{},"enabled":true},
			{"name":"caching","version":"builtin","configuration":{"caching_type":"`+mode+`"},"enabled":true},
			{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`, "")
		home := &switchHome{}
		cg.g.SetHome(home)
		home.away.Store(true)
		assertLimits(t, getLimits(t, cg.base+"/?user_key=metered-key"), 7, 6, "minute")
	}
	for _, l := range []Admitter{fullLedger{}, journalFailedLedger{}} {
		cg.g.ledger = l
		a := call(t, "GET", cg.base+"/?user_key=metered-key", nil)
		require.Equal(t, http.StatusOK, a.status, "allow serves uncounted: %s", a.body)
		assertNoLimits(t, a, "served uncounted")
	}
}

// journalFailedLedger admits, then cannot keep the usage: the ledger's
// journal failing after the decision.
type journalFailedLedger struct{}

func (journalFailedLedger) Admit(_ int64, _ []composition.Hit, _ time.Time, decide func(composition.Counter) bool) error {
	if !decide(func(int64, int64, string, time.Time) int64 { return 0 }) {
		return composition.ErrLimitsExceeded
	}
	return errors.New("usage journal: no space left on device")
}

// The manifest's configuration is an object with no properties (3scale
// refuses any other JSON when the chain is saved); keys it does not know are
// ignored, as APIcast ignores them.
func TestPolicyRateLimitHeadersIgnoresUnknownConfiguration(t *testing.T) {
	freshMinute(t)
	cg := rateLimitHeadersGateway(t, `[{"name":"rate_limit_headers","version":"builtin","configuration":{"limit_header":"X-Limit"},"enabled":true}]`, "")
	c := getLimits(t, cg.base+"/?user_key=metered-key")
	assertLimits(t, c, 7, 6, "minute")
	assert.Empty(t, c.header.Values("X-Limit"))
}

// BenchmarkPolicyRateLimitHeaders is the request path of an application
// whose plan has a limit, through the real ledger, without the policy and
// with it, in the same run: what a service pays for the headers.
func BenchmarkPolicyRateLimitHeaders(b *testing.B) {
	for _, tc := range []struct{ name, chain string }{
		{"without", `[{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`},
		{"with", rateLimitHeadersChain},
	} {
		b.Run(tc.name, func(b *testing.B) {
			f := newGatewayFixture(b, backendUserKey)
			require.NoError(b, f.tx.Create(&composition.UsageLimit{PlanID: f.premium.ID, MetricID: f.hits.ID, Period: "minute", Value: 1e12}))
			p, ok := f.tx.View().Proxies.Get(f.svc.ID)
			require.True(b, ok)
			n := *p
			n.PolicyChain = policyChain(b, tc.chain)
			require.NoError(b, f.tx.Update(&n))
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
			b.Cleanup(up.Close)
			l, err := ledger.New("", "bench", func() int64 { return f.svc.ID }, zerolog.Nop())
			require.NoError(b, err)
			g, _, _ := startTestGateway(b, f, up.URL, f.placement(f.basic, f.premium), Config{})
			g.ledger = l
			req := httptest.NewRequest(http.MethodGet, "/health?user_key=premium-key", nil)
			w := &discardResponse{h: http.Header{}}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				clear(w.h)
				g.ServeHTTP(w, req)
			}
		})
	}
}
