package console

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/registry"
)

// maxLimitRows bounds the limits table of a service: the rows closest to
// their limits are kept.
const maxLimitRows = 50

// limitUsage is one application's current usage of a metric against one of
// its plan's limits: "312 / 1000 per hour".
type limitUsage struct {
	App, AppURL    string
	Metric, Period string
	Used, Limit    int64
	High           int64 // where the gauge turns to a warning: 80% of Limit
	Text           string
	Percent        string // of the limit used, "" for a limit of 0
	Blocked        bool   // a limit of 0: the metric is disabled
	ratio          float64
}

type usageKey struct {
	app, metric int64
	period      string
}

// limitsOf lists the usage of apps' current periods against their plans'
// limits, the closest to their limits first, at most maxLimitRows. The
// current counters come from totals (Usage.Totals: memory, peers added).
// With all, every limit is listed; else only those of metrics with usage in
// the period, so idle applications do not fill the table.
func limitsOf(snap *composition.Snapshot, apps []appTraffic, totals []registry.UsageTotal, all bool) (rows []limitUsage, cut int) {
	used := make(map[usageKey]int64, len(totals))
	for _, t := range totals {
		used[usageKey{t.ApplicationID, t.MetricID, t.Period}] = t.Value
	}
	for _, a := range apps {
		if a.app == nil {
			continue
		}
		for _, l := range snap.UsageLimits.Under(a.app.PlanID) {
			v, ok := used[usageKey{a.ID, l.MetricID, l.Period}]
			if !ok && !all {
				continue
			}
			rows = append(rows, limitRowOf(a, metricName(snap, l.MetricID), l, v))
		}
	}
	slices.SortFunc(rows, func(a, b limitUsage) int {
		return cmp.Or(cmp.Compare(b.ratio, a.ratio), strings.Compare(a.App, b.App),
			strings.Compare(a.Metric, b.Metric), cmp.Compare(periodOrder(a.Period), periodOrder(b.Period)))
	})
	if len(rows) > maxLimitRows {
		cut, rows = len(rows)-maxLimitRows, rows[:maxLimitRows]
	}
	return rows, cut
}

func limitRowOf(a appTraffic, metric string, l *composition.UsageLimit, v int64) limitUsage {
	r := limitUsage{App: a.Name, AppURL: a.URL, Metric: metric, Period: l.Period, Used: v, Limit: l.Value,
		Text: strconv.FormatInt(v, 10) + " / " + strconv.FormatInt(l.Value, 10) + " " + periodPhrase(l.Period)}
	if l.Value <= 0 {
		r.Blocked, r.ratio = true, 2 // a disabled metric sorts with the exceeded ones
		if v == 0 {
			r.ratio = 0
		}
		return r
	}
	r.High = l.Value / 5 * 4
	r.ratio = float64(v) / float64(l.Value)
	r.Percent = strconv.FormatFloat(r.ratio*100, 'f', 0, 64) + "%"
	return r
}

// periodPhrase says a limit's period the way an operator reads it.
func periodPhrase(p string) string {
	if p == "eternity" {
		return "in all time"
	}
	return "per " + p
}
