package usage

import (
	"fmt"
	"time"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/registry"
)

// DriftTotals returns the non-zero totals of the periods incs counted in
// that are not home's current ones, for the reply to the batch they came
// in (Totals has the current ones). An agent's clock drifts from home's
// (ValidateBatch takes minutes up to MaxFutureMinute ahead): an agent
// ahead of home counts in a period home has not reached, one behind in a
// period home has left, and either way the batch's reply is what its
// usage becomes once the agent stops counting it as its own pending
// usage. Without these totals the agent would forget usage home
// acknowledged, for as long as the clocks differ, and let it through
// again. Later periods are read from memory (this coordinator's and its
// peers'); ended ones from usage.db, only those that ended less than
// MaxFutureMinute ago, as an agent's clock may be behind by that much: a
// spool drained after a partition needs none of the older ones, which
// its agent no longer counts against anything.
func (s *Store) DriftTotals(incs []Increment, now time.Time) ([]registry.UsageTotal, error) {
	type periodKey struct {
		app, metric int64
		period      byte
		start       int64
	}
	seen := map[periodKey]struct{}{}
	var out []registry.UsageTotal
	var past []periodKey
	recent := now.Add(-MaxFutureMinute)
	s.mu.Lock()
	s.sweepLocked(now)
	for _, in := range incs {
		at := time.Unix(in.Minute*60, 0)
		for i, p := range composition.Periods {
			start, end := composition.PeriodBounds(p, at)
			k := periodKey{app: in.App, metric: in.Metric, period: byte(i), start: periodStart(p, at)}
			if _, ok := seen[k]; ok || k.start == s.cutoff[i] {
				continue
			}
			seen[k] = struct{}{}
			switch {
			case k.start > s.cutoff[i]:
				ck := curKey{metric: k.metric, period: k.period, start: k.start}
				if v := composition.AddSaturating(s.cur[k.app][ck], s.peers.value(k.app, ck)); v != 0 {
					out = append(out, registry.UsageTotal{ApplicationID: k.app, MetricID: k.metric, Period: p, Start: start, Value: v})
				}
			case end.After(recent):
				past = append(past, k)
			}
		}
	}
	s.mu.Unlock()
	if len(past) == 0 {
		return out, nil
	}
	keys := make([]counterSum, len(past))
	for i, k := range past {
		keys[i] = counterSum{key: counterKeyOf(k.period, k.start, k.app, k.metric)}
	}
	vals, err := s.readCounters(keys)
	if err != nil {
		return out, fmt.Errorf("read the usage counters of ended periods: %w", err)
	}
	for i, k := range past {
		if vals[i] != 0 {
			out = append(out, registry.UsageTotal{ApplicationID: k.app, MetricID: k.metric,
				Period: composition.Periods[k.period], Start: startTime(k.start), Value: vals[i]})
		}
	}
	return out, nil
}
