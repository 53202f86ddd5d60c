package composition

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type authFixture struct {
	c                    *Composition
	svc1, svc2           *Service // backend_version 1 (user_key) and 2 (app_id + app_key)
	hits1, getW, bytes   *Metric
	plan1, plan2         *ApplicationPlan
	keyApp, idApp, other *Application
}

func newAuthFixture(t testing.TB) *authFixture {
	t.Helper()
	f := &authFixture{}
	tx := NewTx(New(), testNow)
	f.svc1, f.hits1 = createService(t, tx, "Keys", "1")
	f.svc2, _ = createService(t, tx, "Ids", "2")
	f.getW = createMetric(t, tx, OwnerService, f.svc1.ID, f.hits1.ID, "Get widgets")
	f.bytes = createMetric(t, tx, OwnerService, f.svc1.ID, 0, "Bytes")
	f.plan1 = createPlan(t, tx, f.svc1.ID, "Basic", true)
	f.plan2 = createPlan(t, tx, f.svc2.ID, "Pro", true)
	acct := createAccount(t, tx, "Acme")
	f.keyApp = createApp(t, tx, acct.ID, f.plan1.ID, "keyed")
	f.idApp = createApp(t, tx, acct.ID, f.plan2.ID, "ided")
	f.other = createApp(t, tx, acct.ID, f.plan1.ID, "other")
	limit := func(metricID int64, period string, v int64) {
		require.NoError(t, tx.Create(&UsageLimit{PlanID: f.plan1.ID, MetricID: metricID, Period: period, Value: v}))
	}
	limit(f.hits1.ID, "minute", 5)
	limit(f.hits1.ID, "day", 100)
	limit(f.getW.ID, "hour", 3)
	limit(f.bytes.ID, "eternity", 0) // disabled
	f.c = tx.Result()
	return f
}

func TestAuthenticate(t *testing.T) {
	f := newAuthFixture(t)
	require.NotEmpty(t, f.keyApp.UserKey)
	require.NotEmpty(t, f.idApp.AppID)
	require.Len(t, f.idApp.AppKeys, 1)

	app, plan, d := f.c.Authenticate(f.svc1.ID, Credentials{UserKey: f.keyApp.UserKey})
	require.Nil(t, d)
	assert.Equal(t, f.keyApp.ID, app.ID)
	assert.Equal(t, f.plan1.ID, plan.ID)

	app, plan, d = f.c.Authenticate(f.svc2.ID, Credentials{AppID: f.idApp.AppID, AppKey: f.idApp.AppKeys[0]})
	require.Nil(t, d)
	assert.Equal(t, f.idApp.ID, app.ID)
	assert.Equal(t, f.plan2.ID, plan.ID)
	app, plan, d = NewAppIndex(f.c, f.svc2.ID).Authenticate(Credentials{AppID: f.idApp.AppID, AppKey: f.idApp.AppKeys[0]})
	require.Nil(t, d)
	assert.Equal(t, f.idApp.ID, app.ID)
	assert.Equal(t, f.plan2.ID, plan.ID)
	app, _, d = NewAppIndex(f.c, f.svc1.ID).Authenticate(Credentials{UserKey: f.keyApp.UserKey})
	require.Nil(t, d)
	assert.Equal(t, f.keyApp.ID, app.ID)

	for _, tc := range []struct {
		name      string
		service   int64
		cred      Credentials
		code      string
		reason    string
		found     bool
		rejection bool
	}{
		{"no credentials", f.svc1.ID, Credentials{}, DenialApplicationNotFound, `application with id="" was not found`, false, false},
		{"unknown user key", f.svc1.ID, Credentials{UserKey: "nope"}, DenialUserKeyInvalid, "user key is invalid", false, false},
		{"user key of another service", f.svc2.ID, Credentials{UserKey: f.keyApp.UserKey}, DenialUserKeyInvalid, "user key is invalid", false, false},
		{"unknown app id", f.svc2.ID, Credentials{AppID: "abc"}, DenialApplicationNotFound, `application with id="abc" was not found`, false, false},
		{"both", f.svc2.ID, Credentials{AppID: f.idApp.AppID, UserKey: "x"}, DenialAuthenticationError, "either app_id or user_key is allowed, not both", false, false},
		{"wrong app key", f.svc2.ID, Credentials{AppID: f.idApp.AppID, AppKey: "wrong"}, DenialAppKeyInvalid, "application key is invalid", true, true},
		{"missing app key", f.svc2.ID, Credentials{AppID: f.idApp.AppID}, DenialAppKeyInvalid, "application key is missing", true, true},
		{"unknown service", 999999, Credentials{UserKey: f.keyApp.UserKey}, DenialServiceIDInvalid, `service id "999999" is invalid`, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app, plan, d := f.c.Authenticate(tc.service, tc.cred)
			xapp, xplan, xd := NewAppIndex(f.c, tc.service).Authenticate(tc.cred)
			assert.Equal(t, app, xapp, "the index answers as the scan does")
			assert.Equal(t, plan, xplan)
			assert.Equal(t, d, xd)
			require.NotNil(t, d)
			assert.Equal(t, tc.code, d.Code)
			assert.Equal(t, tc.reason, d.Reason)
			assert.Equal(t, tc.rejection, d.Rejection())
			assert.Equal(t, tc.found, app != nil)
			assert.Equal(t, tc.found, plan != nil)
			if tc.cred.AppKey != "" {
				assert.NotContains(t, d.Reason, tc.cred.AppKey, "a key is never echoed")
			}
			if tc.cred.UserKey != "" {
				assert.NotContains(t, d.Reason, tc.cred.UserKey, "a key is never echoed")
			}
		})
	}
	assert.True(t, Credentials{}.Empty())
	assert.True(t, Credentials{AppKey: "k"}.Empty())
	assert.False(t, Credentials{AppID: "i"}.Empty())
}

func TestAuthenticateOnlyLivePasses(t *testing.T) {
	f := newAuthFixture(t)
	for _, state := range []string{AppSuspended, AppPending} {
		t.Run(state, func(t *testing.T) {
			tx := NewTx(f.c, testNow)
			a := *f.keyApp
			a.State = state
			tx.Put(&a)
			c := tx.Result()
			app, plan, d := c.Authenticate(f.svc1.ID, Credentials{UserKey: a.UserKey})
			_, _, xd := NewAppIndex(c, f.svc1.ID).Authenticate(Credentials{UserKey: a.UserKey})
			assert.Equal(t, d, xd)
			require.NotNil(t, d)
			assert.Equal(t, Denial{Code: DenialApplicationNotActive, Reason: "application is not active"}, *d)
			assert.True(t, d.Rejection())
			require.NotNil(t, app, "the application comes back with the denial, for the plan in the answer")
			assert.Equal(t, f.plan1.ID, plan.ID)
		})
	}
}

func TestAuthenticateAppWithoutKeys(t *testing.T) {
	f := newAuthFixture(t)
	tx := NewTx(f.c, testNow)
	a := *f.idApp
	a.AppKeys = nil
	tx.Put(&a)
	c := tx.Result()
	_, _, d := c.Authenticate(f.svc2.ID, Credentials{AppID: a.AppID})
	assert.Nil(t, d, "an application without keys needs no app_key")
}

// counters is a Counter over a map, recording what it was asked.
type counters map[string]int64

func counterKey(app, metric int64, period string, start time.Time) string {
	return fmt.Sprintf("%d/%d/%s/%s", app, metric, period, start.Format(time.RFC3339))
}

func (cs counters) get(app, metric int64, period string, start time.Time) int64 {
	return cs[counterKey(app, metric, period, start)]
}

func TestCheckLimits(t *testing.T) {
	f := newAuthFixture(t)
	now := time.Date(2026, 11, 25, 10, 30, 15, 0, time.UTC)
	minute, _ := PeriodBounds("minute", now)
	hour, _ := PeriodBounds("hour", now)
	day, _ := PeriodBounds("day", now)
	app := f.keyApp

	cs := counters{}
	reports, exceeded := f.c.CheckLimits(app, []Hit{{f.hits1.ID, 1}}, cs.get, now)
	assert.False(t, exceeded)
	require.Len(t, reports, 4)
	// sorted by metric system_name, then period
	assert.Equal(t, []string{"bytes/eternity", "get_widgets/hour", "hits/minute", "hits/day"}, reportNames(reports))
	hm := reports[2]
	assert.Equal(t, UsageReport{MetricID: f.hits1.ID, Metric: "hits", Period: "minute", Start: minute,
		End: minute.Add(time.Minute), Max: 5, Current: 0, Usage: 1}, hm)
	assert.True(t, reports[0].Start.IsZero() && reports[0].End.IsZero(), "eternity has no bounds")

	// four hits so far this minute: one more fits, two do not
	cs[counterKey(app.ID, f.hits1.ID, "minute", minute)] = 4
	_, exceeded = f.c.CheckLimits(app, []Hit{{f.hits1.ID, 1}}, cs.get, now)
	assert.False(t, exceeded)
	reports, exceeded = f.c.CheckLimits(app, []Hit{{f.hits1.ID, 2}}, cs.get, now)
	assert.True(t, exceeded)
	assert.True(t, reports[2].Exceeded)
	assert.Equal(t, int64(4), reports[2].Current, "Current is before this request's usage")
	assert.False(t, reports[3].Exceeded, "the day limit still has room")

	// a method's limit and hits' limits both apply: Matcher adds the method's usage to hits
	cs = counters{}
	cs[counterKey(app.ID, f.getW.ID, "hour", hour)] = 3
	reports, exceeded = f.c.CheckLimits(app, []Hit{{f.getW.ID, 1}, {f.hits1.ID, 1}}, cs.get, now)
	assert.True(t, exceeded, "the method's hourly limit is reached")
	assert.True(t, reports[1].Exceeded)
	cs = counters{}
	cs[counterKey(app.ID, f.hits1.ID, "day", day)] = 100
	_, exceeded = f.c.CheckLimits(app, []Hit{{f.getW.ID, 1}, {f.hits1.ID, 1}}, cs.get, now)
	assert.True(t, exceeded, "hits' daily limit applies to the method's usage")

	// usage limited only to the metrics it names: bytes is disabled (limit 0), hits is full
	cs = counters{}
	cs[counterKey(app.ID, f.hits1.ID, "minute", minute)] = 5
	reports, exceeded = f.c.CheckLimits(app, []Hit{{f.bytes.ID, 1}}, cs.get, now)
	assert.True(t, exceeded, "a limit of 0 disables the metric")
	assert.True(t, reports[0].Exceeded)
	assert.False(t, reports[2].Exceeded, "hits at its limit is not passed by usage that does not name it")
	_, exceeded = f.c.CheckLimits(app, []Hit{{f.getW.ID, 1}}, cs.get, now)
	assert.False(t, exceeded, "usage that names only the method checks only the method (3scale's authorize)")

	// no usage: denied only when a limit is already passed
	_, exceeded = f.c.CheckLimits(app, nil, cs.get, now)
	assert.False(t, exceeded)
	cs[counterKey(app.ID, f.hits1.ID, "minute", minute)] = 6
	_, exceeded = f.c.CheckLimits(app, nil, cs.get, now)
	assert.True(t, exceeded)

	// the counter is asked for the period's start, in UTC
	asked := map[string]time.Time{}
	_, _ = f.c.CheckLimits(app, nil, func(_, _ int64, period string, start time.Time) int64 {
		asked[period] = start
		return 0
	}, now.In(time.FixedZone("X", -5*3600)))
	assert.Equal(t, map[string]time.Time{"minute": minute, "hour": hour, "day": day, "eternity": {}}, asked)

	// an application on a plan without limits is never limited
	reports, exceeded = f.c.CheckLimits(f.idApp, []Hit{{f.hits1.ID, 1000}}, cs.get, now)
	assert.False(t, exceeded)
	assert.Empty(t, reports)
}

func reportNames(rs []UsageReport) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Metric + "/" + r.Period
	}
	return out
}

// ExceedsLimits, the gateway's allocation-free check, decides exactly as
// CheckLimits does, over a grid of counters and usages.
func TestExceedsLimitsAgreesWithCheckLimits(t *testing.T) {
	f := newAuthFixture(t)
	now := time.Date(2026, 11, 25, 10, 30, 15, 0, time.UTC)
	minute, _ := PeriodBounds("minute", now)
	hour, _ := PeriodBounds("hour", now)
	day, _ := PeriodBounds("day", now)
	app := f.keyApp
	limits := f.c.UsageLimits.Filter(func(l *UsageLimit) bool { return l.PlanID == app.PlanID })
	require.NotEmpty(t, limits)
	usages := [][]Hit{
		{{f.hits1.ID, 1}}, {{f.hits1.ID, 2}}, {{f.getW.ID, 1}, {f.hits1.ID, 1}}, {{f.bytes.ID, 1}},
		{{f.hits1.ID, 1}, {f.hits1.ID, 1}}, {{f.bytes.ID, 0}},
	}
	seen := map[bool]int{}
	for _, m := range []int64{0, 3, 4, 5, 6} {
		for _, h := range []int64{0, 2, 3} {
			for _, d := range []int64{0, 99, 100} {
				cs := counters{}
				cs[counterKey(app.ID, f.hits1.ID, "minute", minute)] = m
				cs[counterKey(app.ID, f.getW.ID, "hour", hour)] = h
				cs[counterKey(app.ID, f.hits1.ID, "day", day)] = d
				for _, u := range usages {
					_, want := f.c.CheckLimits(app, u, cs.get, now)
					got := ExceedsLimits(limits, app, u, cs.get, now)
					require.Equal(t, want, got, "minute %d, hour %d, day %d, usage %v", m, h, d, u)
					seen[got]++
				}
			}
		}
	}
	assert.NotZero(t, seen[true])
	assert.NotZero(t, seen[false])
}
