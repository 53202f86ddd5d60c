package threescale

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/portolan/portolan/composition"
)

// MaxAnalyticsValues bounds the values one analytics answer holds.
const MaxAnalyticsValues = 10000

// Analytics serves 3scale's Analytics API usage endpoints from the usage
// counters: GET /stats/services/{id}/usage.json and GET
// /stats/applications/{id}/usage.json, with metric_name, since, period or
// until, granularity (hour, day, month, eternity) and timezone (UTC only).
// An access token with scope stats is required.
type Analytics struct {
	snapshot func() *composition.Snapshot
	tokens   *TokenChecker
	counters UsageCounters
	mux      *http.ServeMux
}

// NewAnalytics serves analytics on store's snapshots and counters.
func NewAnalytics(store composition.Store, tokens *TokenChecker, counters UsageCounters) *Analytics {
	a := &Analytics{snapshot: store.Snapshot, tokens: tokens, counters: counters, mux: http.NewServeMux()}
	a.mux.HandleFunc("GET /stats/services/{id}/usage.json", func(w http.ResponseWriter, r *http.Request) {
		a.serve(w, r, ScopeService)
	})
	a.mux.HandleFunc("GET /stats/applications/{id}/usage.json", func(w http.ResponseWriter, r *http.Request) {
		a.serve(w, r, ScopeApplication)
	})
	return a
}

// ServeHTTP checks the access token and routes.
func (a *Analytics) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := a.tokens.Authorize(r, composition.ScopeStats, false); err != nil {
		WriteError(w, JSON, err)
		return
	}
	if _, pattern := a.mux.Handler(r); pattern == "" {
		WriteError(w, JSON, ErrNotFound)
		return
	}
	a.mux.ServeHTTP(w, r)
}

// granularityOf is 3scale's granularity of each period.
var granularityOf = map[string]string{"year": "month", "month": "day", "week": "day", "day": "hour", "eternity": "eternity"}

// statsRange is a resolved query: buckets of granularity from since to until.
type statsRange struct {
	period      string // "" when until was given
	granularity string
	since       time.Time // start of the first bucket
	until       time.Time // end of the range, exclusive
	starts      []time.Time
}

func parseStatsRange(q url.Values, now time.Time) (*statsRange, error) {
	if tz := q.Get("timezone"); tz != "" && tz != "UTC" && tz != "Etc/UTC" {
		return nil, BadRequest("timezone: only UTC is supported")
	}
	sr := &statsRange{period: q.Get("period"), granularity: q.Get("granularity")}
	if sr.period != "" {
		g, ok := granularityOf[sr.period]
		if !ok {
			return nil, BadRequest("period must be one of eternity, year, month, week, day")
		}
		if sr.granularity == "" {
			sr.granularity = g
		}
	}
	if sr.granularity == "" {
		sr.granularity = "month"
	}
	switch sr.granularity {
	case "eternity", "month", "day", "hour":
	default:
		return nil, BadRequest("granularity must be one of eternity, month, day, hour")
	}
	if sr.period == "eternity" || sr.granularity == "eternity" {
		if sr.period != "" && sr.period != "eternity" || sr.granularity != "eternity" {
			return nil, BadRequest("only eternity granularity is accepted for period eternity")
		}
		sr.period, sr.starts = "eternity", []time.Time{{}}
		return sr, nil
	}
	since, err := parseStatsTime(q.Get("since"))
	if err != nil {
		return nil, BadRequest("since: " + err.Error())
	}
	var end time.Time
	switch {
	case sr.period != "":
		switch sr.period {
		case "year":
			end = since.AddDate(1, 0, 0)
		case "month":
			end = since.AddDate(0, 1, 0)
		case "week":
			end = since.AddDate(0, 0, 7)
		case "day":
			end = since.AddDate(0, 0, 1)
		}
	case q.Get("until") != "":
		until, err := parseStatsTime(q.Get("until"))
		if err != nil {
			return nil, BadRequest("until: " + err.Error())
		}
		end = until.Add(time.Second) // until is inclusive, to the second
	default:
		return nil, BadRequest("period or until is required")
	}
	if !end.After(since) {
		return nil, BadRequest("until must be after since")
	}
	sr.since, _ = composition.PeriodBounds(sr.granularity, since)
	sr.until = end
	for t := sr.since; t.Before(end); {
		if len(sr.starts) == MaxAnalyticsValues {
			return nil, BadRequest(fmt.Sprintf("the range holds more than %d %s values", MaxAnalyticsValues, sr.granularity))
		}
		sr.starts = append(sr.starts, t)
		_, t = composition.PeriodBounds(sr.granularity, t)
	}
	return sr, nil
}

// parseStatsTime reads 3scale's since/until: "2012-02-22", "2012-02-22
// 23:49:00" or RFC 3339, in UTC.
func parseStatsTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, fmt.Errorf("required")
	}
	for _, layout := range []string{"2006-01-02", "2006-01-02 15:04:05", "2006-01-02T15:04:05", time.RFC3339} {
		if t, err := time.Parse(layout, strings.TrimSpace(s)); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not YYYY-MM-DD or YYYY-MM-DD HH:MM:SS", clip(s))
}

type statsMetric struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	SystemName string `json:"system_name"`
	Unit       string `json:"unit"`
}

type statsPeriod struct {
	Name        *string `json:"name"`
	Since       *string `json:"since"`
	Until       *string `json:"until"`
	Timezone    string  `json:"timezone"`
	Granularity string  `json:"granularity"`
}

type statsRef struct {
	ID   int64  `json:"id"`
	Name string `json:"name,omitempty"`
}

type statsApplication struct {
	ID          int64    `json:"id"`
	Name        string   `json:"name"`
	State       string   `json:"state"`
	Description string   `json:"description"`
	Plan        statsRef `json:"plan"`
	Account     statsRef `json:"account"`
	Service     statsRef `json:"service"`
}

type statsService struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	SystemName string `json:"system_name"`
	State      string `json:"state"`
}

type statsUsage struct {
	Metric      statsMetric       `json:"metric"`
	Period      statsPeriod       `json:"period"`
	Total       int64             `json:"total"`
	Values      []int64           `json:"values"`
	Application *statsApplication `json:"application,omitempty"`
	Service     *statsService     `json:"service,omitempty"`
}

func (a *Analytics) serve(w http.ResponseWriter, r *http.Request, scope Scope) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		WriteError(w, JSON, BadRequest("malformed query string"))
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		WriteError(w, JSON, ErrNotFound)
		return
	}
	snap := a.snapshot()
	out := statsUsage{}
	var serviceID int64
	if scope == ScopeService {
		svc, ok := snap.Services.Get(id)
		if !ok {
			WriteError(w, JSON, ErrNotFound)
			return
		}
		serviceID = svc.ID
		out.Service = &statsService{ID: svc.ID, Name: svc.Name, SystemName: svc.SystemName, State: svc.State}
	} else {
		app, ok := snap.Applications.Get(id)
		if !ok {
			WriteError(w, JSON, ErrNotFound)
			return
		}
		serviceID = app.ServiceID
		sa := &statsApplication{ID: app.ID, Name: app.Name, State: app.State, Description: app.Description,
			Plan: statsRef{ID: app.PlanID}, Account: statsRef{ID: app.AccountID}, Service: statsRef{ID: app.ServiceID}}
		if p, ok := snap.ApplicationPlans.Get(app.PlanID); ok {
			sa.Plan.Name = p.Name
		}
		if acct, ok := snap.Accounts.Get(app.AccountID); ok {
			sa.Account.Name = acct.OrgName
		}
		if svc, ok := snap.Services.Get(app.ServiceID); ok {
			sa.Service.Name = svc.Name
		}
		out.Application = sa
	}
	name := q.Get("metric_name")
	if name == "" {
		name = "hits"
	}
	var metric *composition.Metric
	for _, m := range snap.ServiceMetricIDs(serviceID) {
		if m.SystemName == name && (metric == nil || m.OwnerType == composition.OwnerService) {
			metric = m
		}
	}
	if metric == nil {
		WriteError(w, JSON, &statusError{status: http.StatusNotFound, msg: fmt.Sprintf("metric %q not found", clip(name))})
		return
	}
	sr, err := parseStatsRange(q, time.Now())
	if err != nil {
		WriteError(w, JSON, err)
		return
	}
	values, err := a.counters.Values(scope, id, metric.ID, sr.granularity, sr.starts)
	if err != nil {
		WriteError(w, JSON, err)
		return
	}
	out.Metric = statsMetric{ID: metric.ID, Name: metric.FriendlyName, SystemName: metric.SystemName, Unit: metric.Unit}
	out.Period = statsPeriod{Timezone: "Etc/UTC", Granularity: sr.granularity}
	if sr.period != "" {
		out.Period.Name = &sr.period
	}
	if !sr.since.IsZero() {
		since, until := sr.since.Format(time.RFC3339), sr.until.Add(-time.Second).Format(time.RFC3339)
		out.Period.Since, out.Period.Until = &since, &until
	}
	out.Values = values
	for _, v := range values {
		out.Total = composition.AddSaturating(out.Total, v)
	}
	Write(w, JSON, http.StatusOK, func(wr io.Writer) error { return json.NewEncoder(wr).Encode(out) })
}
