package usage

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

func TestBinIsTheHighestReachedAsApisonatorComputesIt(t *testing.T) {
	for _, c := range []struct {
		current, max int64
		want         int
	}{
		{0, 10, 0}, {4, 10, 0}, {49, 100, 0}, {5, 10, 50}, {79, 100, 50}, {4, 5, 80}, {9, 10, 90},
		{10, 10, 100}, {119, 100, 100}, {6, 5, 120}, {3, 2, 150}, {2, 1, 200}, {3, 1, 300}, {1000, 1, 300},
	} {
		u := Utilization{Current: c.current, Max: c.max}
		assert.Equal(t, c.want, Bin(u.Ratio()), "%d/%d", c.current, c.max)
	}
	assert.Zero(t, Utilization{Current: 5, Max: 0}.Ratio(), "a limit of 0 disables the metric")
}

func TestMaxUtilizationTakesTheFirstGreatestRatioOfEnabledLimits(t *testing.T) {
	now := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)
	limits := []*composition.UsageLimit{
		{MetricID: 1, Period: "month", Value: 100},
		{MetricID: 1, Period: "day", Value: 10},
		{MetricID: 2, Period: "day", Value: 0},
		{MetricID: 3, Period: "hour", Value: 20},
	}
	values := map[int64]int64{1: 5, 2: 50, 3: 10}
	current := func(_, metric int64, _ string, _ time.Time) int64 { return values[metric] }
	u, ok := maxUtilization(limits, 7, current, now)
	require.True(t, ok)
	assert.Equal(t, Utilization{MetricID: 1, Period: "day", Current: 5, Max: 10}, u, "day and hour tie at 50 %%: the first wins; the disabled metric counts for nothing")
	values = map[int64]int64{2: 50}
	_, ok = maxUtilization(limits, 7, current, now)
	assert.False(t, ok, "no utilization above 0: nothing to raise")
}

func TestSortLimitsOrdersByMetricThenLongestPeriod(t *testing.T) {
	limits := []*composition.UsageLimit{{MetricID: 2, Period: "day"}, {MetricID: 1, Period: "minute"}, {MetricID: 1, Period: "eternity"}, {MetricID: 1, Period: "month"}}
	SortLimits(limits)
	var got []string
	for _, l := range limits {
		got = append(got, strconv.FormatInt(l.MetricID, 10)+l.Period)
	}
	assert.Equal(t, []string{"1eternity", "1month", "1minute", "2day"}, got)
}

// alertsFixture is a service with a plan allowing 10 hits a day (and 10 ever,
// for the TTL test) and two applications, over a real usage store.
type alertsFixture struct {
	dir        string
	store      *Store
	alerts     *Alerts
	snap       atomic.Pointer[composition.Snapshot]
	svc        *composition.Service
	hits       int64
	app, other int64
}

func newAlertsFixture(t testing.TB, period string, alertLimits []int, maxEvents int, now time.Time) *alertsFixture {
	t.Helper()
	f := &alertsFixture{dir: t.TempDir()}
	tx := composition.NewTx(composition.New(), now)
	f.svc = &composition.Service{Name: "S", BackendVersion: "1", AlertLimits: alertLimits}
	require.NoError(t, tx.Create(f.svc))
	hits, _ := tx.View().Hits(composition.OwnerService, f.svc.ID)
	f.hits = hits.ID
	plan := &composition.ApplicationPlan{ServiceID: f.svc.ID, Name: "Basic"}
	require.NoError(t, tx.Create(plan))
	require.NoError(t, tx.Create(&composition.UsageLimit{PlanID: plan.ID, MetricID: f.hits, Period: period, Value: 10}))
	acct := &composition.Account{OrgName: "Consumer"}
	require.NoError(t, tx.Create(acct))
	for _, id := range []*int64{&f.app, &f.other} {
		a := &composition.Application{AccountID: acct.ID, ServiceID: f.svc.ID, PlanID: plan.ID, Name: "a", State: composition.AppLive}
		require.NoError(t, tx.Create(a))
		*id = a.ID
	}
	f.snap.Store(tx.Result())
	f.open(t, maxEvents, now)
	return f
}

func (f *alertsFixture) open(t testing.TB, maxEvents int, now time.Time) {
	t.Helper()
	s, err := Open(f.dir, now, zerolog.Nop())
	require.NoError(t, err)
	f.store = s
	a, err := OpenAlerts(s, f.snap.Load, maxEvents, now)
	require.NoError(t, err)
	f.alerts = a
	t.Cleanup(func() { _ = f.store.Close() })
}

// use counts n hits of app at now and tells alerts.
func (f *alertsFixture) use(t testing.TB, app, n int64, now time.Time) {
	t.Helper()
	incs := []Increment{{App: app, Metric: f.hits, Minute: now.Unix() / 60, Delta: n}}
	_, err := f.store.Apply(context.Background(), "", f.svc.ID, incs, now)
	require.NoError(t, err)
	f.alerts.CountedIncrements(f.svc.ID, incs, now)
}

func types(evs []Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.Type
	}
	return out
}

func levels(evs []Event) []int {
	var out []int
	for _, ev := range evs {
		if ev.Alert != nil {
			out = append(out, ev.Alert.Level)
		}
	}
	return out
}

func TestAlertsRaiseOnlyTheHighestEnabledBinReachedOnce(t *testing.T) {
	now := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)
	f := newAlertsFixture(t, "day", []int{50, 80, 100}, 0, now)
	f.use(t, f.app, 4, now)
	assert.Equal(t, []string{EventFirstTraffic, EventFirstDailyTraffic}, types(f.alerts.Events()))
	f.use(t, f.app, 5, now) // 40 % → 90 %: 90 is not enabled, 50 and 80 are skipped
	assert.Empty(t, levels(f.alerts.Events()), "only the highest bin reached is raised, and 90 is not enabled")
	f.use(t, f.app, 1, now) // 100 %
	f.use(t, f.app, 1, now) // 110 %: still 100
	assert.Equal(t, []int{100}, levels(f.alerts.Events()))
	evs := f.alerts.Events()
	al := evs[len(evs)-1]
	assert.Equal(t, Alert{ID: 1, Level: 100, Utilization: 1, Metric: "hits", Period: "day", Current: 10, Max: 10}, *al.Alert)
	assert.Equal(t, f.app, al.AppID)
	assert.Equal(t, f.svc.ID, al.ServiceID)

	f.use(t, f.other, 8, now) // another application: its own first traffic and 80 %
	assert.Equal(t, []int{100, 80}, levels(f.alerts.Events()))

	tomorrow := now.Add(24*time.Hour + time.Minute)
	f.use(t, f.app, 5, tomorrow)
	evs = f.alerts.Events()
	assert.Equal(t, EventFirstDailyTraffic, evs[len(evs)-2].Type, "a new day's first traffic, not the first ever")
	assert.Equal(t, []int{100, 80, 50}, levels(evs), "the next day's 50 %% is raised")
	for i := 1; i < len(evs); i++ {
		assert.Greater(t, evs[i].ID, evs[i-1].ID, "event ids ascend")
	}
}

func TestAlertsStayQuietFor24HoursFromTheAlert(t *testing.T) {
	now := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)
	f := newAlertsFixture(t, "eternity", []int{50}, 0, now)
	f.use(t, f.app, 5, now)
	require.Equal(t, []int{50}, levels(f.alerts.Events()))
	f.use(t, f.app, 1, now.Add(23*time.Hour))
	assert.Equal(t, []int{50}, levels(f.alerts.Events()), "within 24 h of the alert: quiet, though a new UTC day began")
	f.use(t, f.app, 1, now.Add(24*time.Hour+time.Second))
	assert.Equal(t, []int{50, 50}, levels(f.alerts.Events()), "24 h after the alert it is raised again")
}

func TestAlertsWithoutAlertLimitsRaiseOnlyTraffic(t *testing.T) {
	now := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)
	f := newAlertsFixture(t, "day", nil, 0, now)
	f.use(t, f.app, 10, now)
	f.use(t, f.app, 10, now)
	assert.Equal(t, []string{EventFirstTraffic, EventFirstDailyTraffic}, types(f.alerts.Events()))
}

func TestAlertsKeepEventsAndStateAcrossRestartsBounded(t *testing.T) {
	now := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)
	f := newAlertsFixture(t, "day", []int{50}, 3, now)
	f.use(t, f.app, 5, now)   // first_traffic, first_daily_traffic, alert
	f.use(t, f.other, 1, now) // two more: the two oldest are dropped
	before := f.alerts.Events()
	require.Len(t, before, 3)
	assert.Equal(t, []int64{3, 4, 5}, []int64{before[0].ID, before[1].ID, before[2].ID})
	require.NoError(t, f.store.Close())

	f.open(t, 3, now)
	assert.Equal(t, before, f.alerts.Events(), "events survive a restart")
	f.use(t, f.app, 1, now)
	assert.Equal(t, before, f.alerts.Events(), "traffic days and notified levels survive it too")

	ctx := context.Background()
	n, err := f.alerts.DeleteEventsUpTo(ctx, 0)
	require.NoError(t, err)
	assert.Zero(t, n, "upto_id 0 deletes nothing, as apisonator")
	ok, err := f.alerts.DeleteEvent(ctx, 4)
	require.NoError(t, err)
	assert.True(t, ok)
	ok, err = f.alerts.DeleteEvent(ctx, 4)
	require.NoError(t, err)
	assert.False(t, ok)
	n, err = f.alerts.DeleteEventsUpTo(ctx, 5)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	require.NoError(t, f.store.Close())
	f.open(t, 3, now)
	assert.Empty(t, f.alerts.Events(), "deletions are stored")
	f.use(t, f.other, 4, now) // 5 of 10
	evs := f.alerts.Events()
	require.Len(t, evs, 1)
	assert.Equal(t, int64(6), evs[0].ID, "ids go on after deletions and restarts")
	assert.Equal(t, int64(2), evs[0].Alert.ID)
}

func TestAlertsRaiseOnceUnderConcurrentCounts(t *testing.T) {
	now := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)
	f := newAlertsFixture(t, "day", []int{50}, 0, now)
	f.use(t, f.app, 5, now)
	f.alerts.mu.Lock()
	clear(f.alerts.notified) // as if the alert was never raised: every count below finds it due
	f.alerts.events = nil
	f.alerts.mu.Unlock()
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.alerts.Counted(f.svc.ID, f.app, now)
		}()
	}
	wg.Wait()
	assert.Equal(t, []int{50}, levels(f.alerts.Events()), "one alert, whatever the concurrency")
}
