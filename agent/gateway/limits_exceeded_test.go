package gateway

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/agent/ledger"
	"github.com/portolan/portolan/composition"
)

// limitsGateway runs the fixture's service with one more plan per
// entry of plans (by user_key: that plan's limits on hits; a GET / adds one
// hit) and a GET /search method of hits (a search and a hit a request).
func limitsGateway(t *testing.T, plans map[string][]composition.UsageLimit) *chainGateway {
	t.Helper()
	f := newGatewayFixture(t, backendUserKey)
	search := &composition.Metric{OwnerType: composition.OwnerService, OwnerID: f.svc.ID, ParentID: f.hits.ID,
		Name: "search", SystemName: "search", FriendlyName: "Search", Unit: "hit"}
	require.NoError(t, f.tx.Create(search))
	require.NoError(t, f.tx.Create(&composition.MappingRule{OwnerType: composition.OwnerService, OwnerID: f.svc.ID,
		MetricID: search.ID, HTTPMethod: "GET", Pattern: "/search", Delta: 1}))
	p := f.placement(f.basic, f.premium)
	for key, limits := range plans {
		plan := &composition.ApplicationPlan{ServiceID: f.svc.ID, Name: key}
		require.NoError(t, f.tx.Create(plan))
		for _, l := range limits {
			l.PlanID = plan.ID
			if l.MetricID == 0 {
				l.MetricID = f.hits.ID
			} else {
				l.MetricID = search.ID // any other id: the search method
			}
			require.NoError(t, f.tx.Create(&l))
		}
		require.NoError(t, f.tx.Create(&composition.Application{AccountID: f.basicApp.AccountID, ServiceID: f.svc.ID,
			PlanID: plan.ID, Name: key, State: composition.AppLive, UserKey: key}))
		p.Plans = append(p.Plans, f.placement(plan).Plans...)
	}
	up, got := echoUpstream(t, "app")
	g, base, reg := startTestGateway(t, f, up.URL, p, Config{})
	return &chainGateway{f: f, g: g, base: base, got: got, reg: reg, up: up.URL, basic: "basic-key", key: "premium-key"}
}

// admitted sends n requests to target, each of which must be served.
func admitted(t *testing.T, target string, n int) {
	t.Helper()
	for i := range n {
		a := call(t, "GET", target, nil)
		require.Equal(t, http.StatusOK, a.status, "request %d to %s: %s", i+1, target, a.body)
		assert.Empty(t, a.header.Values("Retry-After"), "an admitted request has no Retry-After")
	}
}

// assertRetryAfter checks that c is the plan's 429 and that its Retry-After
// is the seconds, rounded up, from the answer to the end of the period of
// the limit that refused it, give or take one second.
func assertRetryAfter(t *testing.T, c limitsCall, period string) {
	t.Helper()
	require.Equal(t, http.StatusTooManyRequests, c.status, c.body)
	assert.Equal(t, "Usage limit exceeded\n", c.body)
	got := c.header.Values("Retry-After")
	require.Len(t, got, 1, "one Retry-After: %q", got)
	secs, err := strconv.ParseInt(got[0], 10, 64)
	require.NoError(t, err, "Retry-After is delay-seconds: %q", got[0])
	_, end := composition.PeriodBounds(period, c.sent)
	ceil := func(d time.Duration) int64 { return int64((d + time.Second - 1) / time.Second) }
	assert.GreaterOrEqual(t, secs, ceil(end.Sub(c.answered))-1, "Retry-After: the seconds to the end of the %s", period)
	assert.LessOrEqual(t, secs, ceil(end.Sub(c.sent))+1, "Retry-After: the seconds to the end of the %s", period)
}

// APIcast's errors.limits_exceeded(service, retry_after) "sets the
// Retry-After header when a value for it is received" (its spec): proxy.lua
// passes 3scale-limit-reset, which apisonator's limit_headers extension
// defines as "the number of seconds left for the current limiting period to
// elapse", rounded up (UsageReport#remaining_time: (period.finish -
// from).ceil). A plan allowing 2 requests a minute refuses the third until
// the minute ends; an hour's limit until the hour ends. With the agent's
// usage ledger (journal and all) as with the tests' counting one.
func TestLimitsExceededRetryAfterIsTheSecondsLeftInThePeriod(t *testing.T) {
	for _, withLedger := range []bool{false, true} {
		t.Run(map[bool]string{false: "counting", true: "ledger"}[withLedger], func(t *testing.T) {
			freshMinute(t)
			cg := limitsGateway(t, map[string][]composition.UsageLimit{
				"minute-key": {{Period: "minute", Value: 2}},
				"hour-key":   {{Period: "hour", Value: 2}},
			})
			if withLedger {
				l, err := ledger.New(t.TempDir(), "limits", func() int64 { return cg.f.svc.ID }, zerolog.Nop())
				require.NoError(t, err)
				cg.g.ledger = l // before any request
			}
			for key, period := range map[string]string{"minute-key": "minute", "hour-key": "hour"} {
				target := cg.base + "/?user_key=" + key
				admitted(t, target, 2)
				assertRetryAfter(t, getLimits(t, target), period)
				assertRetryAfter(t, getLimits(t, target), period) // and every request after, until then
			}
			assert.Equal(t, 4.0, requests(cg.reg, "limits_exceeded"))
			assert.Empty(t, call(t, "GET", cg.base+"/?user_key=nobody", nil).header.Values("Retry-After"),
				"only the plan's 429 carries it")
		})
	}
}

// apisonator's remaining_time "Returns -1 if the period is eternity": no
// time after which the limit frees a request, and no Retry-After here
// (APIcast would copy "-1", which is not a Retry-After value).
func TestLimitsExceededNoRetryAfterForAnEternityLimit(t *testing.T) {
	freshMinute(t)
	cg := limitsGateway(t, map[string][]composition.UsageLimit{"lifetime-key": {{Period: "eternity", Value: 2}}})
	target := cg.base + "/?user_key=lifetime-key"
	admitted(t, target, 2)
	a := call(t, "GET", target, nil)
	require.Equal(t, http.StatusTooManyRequests, a.status, a.body)
	assert.Empty(t, a.header.Values("Retry-After"), "an eternity limit never resets")
}

// When several limits refuse a request, apisonator's limit headers are those
// of the most constrained usage report: the fewest identical requests left
// (every refusing limit leaves none), then "the larger period ordered
// before the shorter ones" (LimitHeaders#compare). A refused request's
// reports count the stored values alone (UsageReport#compute_current_value
// adds the usage only when authorized), so a limit the request would have
// just reached still leaves it one and does not tie.
func TestLimitsExceededRetryAfterOfTheLongestRefusingPeriod(t *testing.T) {
	freshMinute(t)
	cg := limitsGateway(t, map[string][]composition.UsageLimit{
		// both refuse the third request: the day's is the longer period
		"day-key": {{Period: "minute", Value: 2}, {Period: "day", Value: 2}, {Period: "hour", Value: 5}},
		// the hour's 3 leaves the third request one (3-2): the minute's refuses it
		"close-key": {{Period: "minute", Value: 2}, {Period: "hour", Value: 3}},
		// an eternity limit refusing with a minute's: eternity is the longest, no reset
		"ever-key": {{Period: "minute", Value: 2}, {Period: "eternity", Value: 2}},
		// a /search adds a search and two hits (its parent's and the "/" rule's):
		// the search method's own hour limit refuses /search, the hits' minute
		// limit / and /search alike; a / names no search
		"search-key": {{Period: "minute", Value: 5}, {MetricID: -1, Period: "hour", Value: 1}},
	})
	day, close, ever := cg.base+"/?user_key=day-key", cg.base+"/?user_key=close-key", cg.base+"/?user_key=ever-key"
	admitted(t, day, 2)
	assertRetryAfter(t, getLimits(t, day), "day")
	admitted(t, close, 2)
	assertRetryAfter(t, getLimits(t, close), "minute")
	admitted(t, ever, 2)
	a := call(t, "GET", ever, nil)
	require.Equal(t, http.StatusTooManyRequests, a.status, a.body)
	assert.Empty(t, a.header.Values("Retry-After"), "the eternity limit is the longest period")

	search, root := cg.base+"/search?user_key=search-key", cg.base+"/?user_key=search-key"
	admitted(t, search, 1)
	assertRetryAfter(t, getLimits(t, search), "hour") // search 1 of 1 this hour; hits 2 of 5 this minute leave (5-2)/2
	admitted(t, root, 3)
	assertRetryAfter(t, getLimits(t, root), "minute") // hits 5 of 5
	assertRetryAfter(t, getLimits(t, search), "hour") // both refuse: the hour is longer
}

// APIcast's limits_exceeded sets Retry-After whatever the service's
// error_status_limits_exceeded and error_headers_limits_exceeded say; the
// header filters after it see it (a headers policy could remove it).
func TestLimitsExceededRetryAfterWithTheServicesOwnAnswer(t *testing.T) {
	freshMinute(t)
	f := newGatewayFixture(t, backendUserKey)
	f.proxy(t, func(p *composition.Proxy) {
		p.ErrorLimitsExceeded, p.ErrorStatusLimitsExceeded, p.ErrorHeadersLimitsExceeded = `{"error":"slow down"}`, 503, "application/json"
	})
	up, _ := echoUpstream(t, "app")
	_, base, _ := startTestGateway(t, f, up.URL, f.placement(f.basic, f.premium), Config{})
	target := base + "/?user_key=basic-key"
	admitted(t, target, 5) // the basic plan: 5 hits a minute
	c := getLimits(t, target)
	require.Equal(t, http.StatusServiceUnavailable, c.status, c.body)
	assert.Equal(t, "application/json", c.header.Get("Content-Type"))
	c.status, c.body = http.StatusTooManyRequests, "Usage limit exceeded\n" // assertRetryAfter reads the default answer
	assertRetryAfter(t, c, "minute")
}

// proxy.lua: "This is for disabled metrics. Those have a limit of 0 in the
// 3scale backend. When authorizing a disabled metric, backend returns
// "limits exceeded" as the unauthorized reason. However, from the point of
// view of APIcast, we want to distinguish between limits exceeded vs
// disabled metric. That's why we reset the reason. The generic auth fail
// (403) will be returned": when the limit backend reports (its
// 3scale-limit-max-value, the most constrained one's) is 0. Porta disables
// a metric with an eternity limit of 0, the longest period, so it is the
// one reported whatever else refuses the request.
func TestLimitsExceededOnADisabledMetricIsAuthenticationFailed(t *testing.T) {
	freshMinute(t)
	cg := limitsGateway(t, map[string][]composition.UsageLimit{
		"disabled-key": {{Period: "minute", Value: 2}, {MetricID: -1, Period: "eternity", Value: 0}},
	})
	root, search := cg.base+"/?user_key=disabled-key", cg.base+"/search?user_key=disabled-key"
	a := call(t, "GET", search, nil)
	assert.Equal(t, answer{http.StatusForbidden, "text/plain; charset=us-ascii", "Authentication failed\n", a.header}, a,
		"the search method is disabled")
	assert.Empty(t, a.header.Values("Retry-After"))
	admitted(t, root, 2) // hits are not disabled
	assertRetryAfter(t, getLimits(t, root), "minute")
	a = call(t, "GET", search, nil)
	assert.Equal(t, http.StatusForbidden, a.status, "the disabled method's eternity limit is reported over the minute's: %s", a.body)
	assert.Equal(t, 2.0, requests(cg.reg, "auth_failed"))
	assert.Equal(t, 1.0, requests(cg.reg, "limits_exceeded"))
}
