package threescale

import (
	"encoding/xml"
	"net/http"
	"sort"
	"time"

	"github.com/portolan/portolan/composition"
)

// topLimit is how many applications porta's top_applications lists.
const topLimit = 10

// topPeriods are the periods top_applications takes.
var topPeriods = []string{"year", "month", "week", "day"}

type topApplication struct {
	Name    string   `json:"name"`
	ID      int64    `json:"id"`
	Value   int64    `json:"value"`
	Account statsRef `json:"account"`
	Plan    statsRef `json:"plan"`
	Service statsRef `json:"service"`
}

// statsTop is porta's top_applications answer.
type statsTop struct {
	Applications []topApplication `json:"applications"`
	Metric       statsMetric      `json:"metric"`
	Period       statsPeriod      `json:"period"`

	since, until time.Time
}

// serveTop answers GET /stats/services/{id}/top_applications: the service's
// applications that used the metric most in the period (the year, month,
// week or day containing since, in the time zone; weeks start on Monday),
// most first, ties by id; applications without usage are left out.
func (a *Analytics) serveTop(w http.ResponseWriter, r *http.Request, f Format, id int64) {
	q, err := statsQuery(r)
	if err != nil {
		WriteError(w, f, err)
		return
	}
	snap := a.snapshot()
	svc, ok := snap.Services.Get(id)
	if !ok {
		WriteError(w, f, ErrNotFound)
		return
	}
	metric, err := metricNamed(snap, svc.ID, q.Get("metric_name"))
	if err != nil {
		WriteError(w, f, err)
		return
	}
	period := q.Get("period")
	if !contains(topPeriods, period) {
		WriteError(w, f, periodError(period, topPeriods))
		return
	}
	loc, _, err := loadZone(q.Get("timezone"))
	if err != nil {
		WriteError(w, f, err)
		return
	}
	since := a.now().In(loc)
	if s := q.Get("since"); s != "" {
		if since, err = parseStatsTime(s, loc); err != nil {
			WriteError(w, f, err)
			return
		}
	}
	start := bucketStart(periodBucket(period), since)
	bounds := []time.Time{start, periodEnd(period, start)}
	out := statsTop{Applications: []topApplication{}, Metric: newStatsMetric(metric), since: bounds[0], until: bounds[1].Add(-time.Second)}
	for _, app := range snap.Applications.Filter(func(app *composition.Application) bool { return app.ServiceID == svc.ID }) {
		v, err := a.counters.AppSums(app.ID, metric.ID, bounds)
		if err != nil {
			WriteError(w, f, err)
			return
		}
		if v[0] == 0 {
			continue
		}
		sa := newStatsApplication(snap, app)
		out.Applications = append(out.Applications, topApplication{Name: app.Name, ID: app.ID, Value: v[0],
			Account: sa.Account, Plan: sa.Plan, Service: statsRef{ID: app.ServiceID}})
	}
	sort.Slice(out.Applications, func(i, j int) bool {
		x, y := out.Applications[i], out.Applications[j]
		return x.Value > y.Value || x.Value == y.Value && x.ID < y.ID
	})
	if len(out.Applications) > topLimit {
		out.Applications = out.Applications[:topLimit]
	}
	sinceText, untilText := out.since.Format(time.RFC3339), out.until.Format(time.RFC3339)
	out.Period = statsPeriod{Name: &period, Since: &sinceText, Until: &untilText}
	writeStats(w, f, &out)
}

// periodBucket is the bucketStart name of a top_applications period.
func periodBucket(period string) string {
	if period == "day" {
		return granDay
	}
	return period
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

// xmlValue is porta's top_applications.xml.builder.
func (t *statsTop) xmlValue() any {
	type app struct {
		Value   int64         `xml:"value"`
		ID      int64         `xml:"id"`
		Name    string        `xml:"name"`
		Plan    xmlRef        `xml:"plan"`
		Account xmlAccountRef `xml:"account"`
	}
	x := struct {
		XMLName xml.Name    `xml:"top"`
		Metric  statsMetric `xml:"metric"`
		Period  struct {
			Name  string `xml:"name"`
			Since string `xml:"since"`
			Until string `xml:"until"`
		} `xml:"period"`
		Applications []app `xml:"applications>application"`
	}{Metric: t.Metric}
	x.Period.Name, x.Period.Since, x.Period.Until = *t.Period.Name, railsTime(t.since), railsTime(t.until)
	for _, a := range t.Applications {
		x.Applications = append(x.Applications, app{a.Value, a.ID, a.Name, xmlRef{a.Plan.ID, a.Plan.Name},
			xmlAccountRef{a.Account.Name, a.Account.ID}})
	}
	return &x
}
