package usage

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portolan/portolan/composition"
)

// Usage alerts as apisonator raises them (its Alerts and ApplicationEvents):
// after usage of an application is counted, its utilization is the greatest
// current/max over its plan's usage limits (limits of 0 disable a metric and
// count for nothing). The utilization falls in the highest bin of alertBins
// it reaches; when that bin is one of the service's alert limits and was not
// notified for the application in the last AlertTTL, an alert event is
// raised. Only the highest bin reached is raised: a jump from 40 % to 100 %
// raises 100 only. The first traffic of an application ever and of each UTC
// day raise first_traffic and first_daily_traffic, whatever the alert limits.

// AlertTTL is how long a raised alert level stays quiet for its application
// (apisonator's ALERT_TTL): 24 hours from the alert, not a calendar day.
const AlertTTL = 24 * time.Hour

// alertBins are apisonator's utilization bins, percent, ascending.
var alertBins = [...]int{0, 50, 80, 90, 100, 120, 150, 200, 300}

// Bin returns the highest alert bin (percent) ratio reaches, computed as
// apisonator does (ratio × 100.0 compared with each bin), 0 below 50 %.
func Bin(ratio float64) int {
	u := ratio * 100.0
	for i := len(alertBins) - 1; i > 0; i-- {
		if u >= float64(alertBins[i]) {
			return alertBins[i]
		}
	}
	return 0
}

// Utilization is the limit that sets an application's utilization.
type Utilization struct {
	MetricID     int64
	Period       string
	Current, Max int64
}

// Ratio is Current/Max; 0 for a disabled metric (Max 0).
func (u Utilization) Ratio() float64 {
	if u.Max <= 0 {
		return 0
	}
	return float64(u.Current) / float64(u.Max)
}

// maxUtilization returns the limit of limits with the greatest ratio (the
// first of equals, in limits' order) and false when no limit has a ratio
// above 0: apisonator raises nothing then.
func maxUtilization(limits []*composition.UsageLimit, appID int64, current composition.Counter, now time.Time) (Utilization, bool) {
	var best Utilization
	found := false
	for _, l := range limits {
		if l.Value <= 0 {
			continue
		}
		start, _ := composition.PeriodBounds(l.Period, now)
		u := Utilization{MetricID: l.MetricID, Period: l.Period, Current: current(appID, l.MetricID, l.Period, start), Max: l.Value}
		if r := u.Ratio(); r > 0 && (!found || r > best.Ratio()) {
			best, found = u, true
		}
	}
	return best, found
}

// enabled reports whether bin is above 0 and one of the alert limits: only
// then may it raise an alert.
func enabled(limits []int, bin int) bool {
	return bin > 0 && slices.Contains(limits, bin)
}

// alertKey names one alert level of one application.
type alertKey struct {
	service, app int64
	bin          int
}

// Alerts raises and keeps apisonator's backend events for the usage the
// Store counts: Counted is called after each count. Its state (the levels
// notified, the days each application had traffic, the events and their
// ids) lives in memory and in usage.db, written only when an event is
// raised or deleted, so it survives a restart.
type Alerts struct {
	store    *Store
	snapshot func() *composition.Snapshot
	limits   atomic.Pointer[planLimits]
	// maxEvents bounds the events kept; the oldest are dropped beyond it.
	maxEvents int
	// writeMu orders the writes to usage.db (flushCtx); taken before mu.
	writeMu sync.Mutex

	mu        sync.Mutex // guards what follows
	events    []Event    // ascending ids
	lastEvent int64
	lastAlert int64
	notified  map[alertKey]int64 // → unix seconds when it may be raised again
	traffic   map[int64]int64    // application → start of its last UTC day with traffic
	sweptDay  int64              // the day of the last sweep of notified and traffic
	pending   []write            // decided, not yet in usage.db
}

// planLimits are one snapshot's usage limits by plan, in apisonator's
// order: by metric id, then from eternity down to minute.
type planLimits struct {
	snap   *composition.Snapshot
	byPlan map[int64][]*composition.UsageLimit
}

func (a *Alerts) limitsOf(snap *composition.Snapshot, planID int64) []*composition.UsageLimit {
	pl := a.limits.Load()
	if pl == nil || pl.snap != snap {
		pl = &planLimits{snap: snap, byPlan: map[int64][]*composition.UsageLimit{}}
		for _, l := range snap.UsageLimits.All() {
			pl.byPlan[l.PlanID] = append(pl.byPlan[l.PlanID], l)
		}
		for _, ls := range pl.byPlan {
			SortLimits(ls)
		}
		a.limits.Store(pl)
	}
	return pl.byPlan[planID]
}

// SortLimits orders limits as apisonator lists an application's usage
// limits: by metric id, then from eternity down to minute.
func SortLimits(limits []*composition.UsageLimit) {
	slices.SortStableFunc(limits, func(x, y *composition.UsageLimit) int {
		if x.MetricID != y.MetricID {
			if x.MetricID < y.MetricID {
				return -1
			}
			return 1
		}
		return slices.Index(composition.Periods, y.Period) - slices.Index(composition.Periods, x.Period)
	})
}

// Counted raises what the usage of appID just counted calls for. It costs a
// map lookup per alert limit under a lock and allocates nothing unless the
// application has its first traffic of the day, or the service has an
// alert limit not notified for the application. Failing to store an event
// is logged: counting never fails for it.
func (a *Alerts) Counted(serviceID, appID int64, now time.Time) {
	if a.note(a.snapshot(), serviceID, appID, now) {
		a.flush()
	}
}

// CountedIncrements is Counted for the applications of incs (each run of
// one application once), with one write to usage.db for all they raise.
func (a *Alerts) CountedIncrements(serviceID int64, incs []Increment, now time.Time) {
	snap := a.snapshot()
	raised := false
	for i, in := range incs {
		if i == 0 || in.App != incs[i-1].App {
			raised = a.note(snap, serviceID, in.App, now) || raised
		}
	}
	if raised {
		a.flush()
	}
}

// note raises what the usage of appID calls for and reports whether it
// queued writes.
func (a *Alerts) note(snap *composition.Snapshot, serviceID, appID int64, now time.Time) bool {
	svc, ok := snap.Services.Get(serviceID)
	if !ok {
		return false
	}
	day := dayOf(now)
	a.mu.Lock()
	last, seen := a.traffic[appID]
	daily := !seen || last != day
	// Each level is quiet for AlertTTL on its own (apisonator keeps one
	// already_notified key per level): while the highest is quiet a lower
	// one may still be due, after a period's counter started over.
	check := slices.ContainsFunc(svc.AlertLimits, func(level int) bool {
		return !a.notifiedLocked(alertKey{serviceID, appID, level}, now)
	})
	a.mu.Unlock()
	if !daily && !check {
		return false
	}
	var util Utilization
	bin := 0
	if check {
		if app, ok := snap.Applications.Get(appID); ok {
			if u, ok := maxUtilization(a.limitsOf(snap, app.PlanID), appID, a.store.Value, now); ok && enabled(svc.AlertLimits, Bin(u.Ratio())) {
				util, bin = u, Bin(u.Ratio())
			}
		}
	}
	if !daily && bin == 0 {
		return false
	}
	a.mu.Lock()
	a.sweepLocked(snap, day, now)
	if last, seen := a.traffic[appID]; !seen || last != day {
		if !seen {
			a.appendLocked(Event{Type: EventFirstTraffic, Time: now, ServiceID: serviceID, AppID: appID})
		}
		a.appendLocked(Event{Type: EventFirstDailyTraffic, Time: now, ServiceID: serviceID, AppID: appID})
		a.traffic[appID] = day
		a.pending = append(a.pending, put(bucketAlertState, trafficKey(appID), u64(uint64(day))))
	}
	if k := (alertKey{serviceID, appID, bin}); bin > 0 && !a.notifiedLocked(k, now) {
		a.raiseLocked(snap, k, util, now)
	}
	queued := len(a.pending) > 0
	a.mu.Unlock()
	return queued
}

func (a *Alerts) notifiedLocked(k alertKey, now time.Time) bool {
	until, ok := a.notified[k]
	return ok && until > now.Unix()
}

// raiseLocked records an alert event for k and keeps k quiet for AlertTTL.
func (a *Alerts) raiseLocked(snap *composition.Snapshot, k alertKey, u Utilization, now time.Time) {
	a.lastAlert = composition.AddSaturating(a.lastAlert, 1)
	metric := ""
	if m, ok := snap.Metrics.Get(u.MetricID); ok {
		metric = m.SystemName
	}
	a.appendLocked(Event{Type: EventAlert, Time: now, ServiceID: k.service, AppID: k.app, Alert: &Alert{
		ID: a.lastAlert, Level: k.bin, Utilization: u.Ratio(), Metric: metric, Period: u.Period, Current: u.Current, Max: u.Max}})
	until := now.Add(AlertTTL).Unix()
	a.notified[k] = until
	a.pending = append(a.pending, put(bucketAlertState, notifiedKey(k), u64(uint64(until))))
}

// sweepLocked forgets, once a day, the alert levels whose quiet time ended
// and the traffic days of applications no longer in the composition, so
// both stay bounded by the composition's applications.
func (a *Alerts) sweepLocked(snap *composition.Snapshot, day int64, now time.Time) {
	if day <= a.sweptDay {
		return
	}
	a.sweptDay = day
	for k := range a.notified {
		if !a.notifiedLocked(k, now) {
			delete(a.notified, k)
			a.pending = append(a.pending, del(bucketAlertState, notifiedKey(k)))
		}
	}
	for app := range a.traffic {
		if _, ok := snap.Applications.Get(app); !ok {
			delete(a.traffic, app)
			a.pending = append(a.pending, del(bucketAlertState, trafficKey(app)))
		}
	}
}

// dayOf is the unix seconds of the start of now's UTC day.
func dayOf(now time.Time) int64 {
	s := now.Unix()
	return s - ((s%86400)+86400)%86400
}
