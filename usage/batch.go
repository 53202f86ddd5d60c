package usage

import (
	"errors"
	"fmt"
	"time"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/registry"
)

// maxFutureMinute bounds how far ahead of home's clock a batch's minutes may
// be (agents' clocks drift).
const maxFutureMinute = time.Hour

// ValidateBatch checks a batch against the composition and turns it into
// increments. Every problem names the entry and the id at fault.
func ValidateBatch(snap *composition.Snapshot, b *registry.UsageBatch, now time.Time) ([]Increment, error) {
	switch {
	case b.ID == "":
		return nil, errors.New("id: a usage batch needs an id")
	case len(b.ID) > registry.MaxBatchIDLen:
		return nil, fmt.Errorf("id: longer than %d bytes", registry.MaxBatchIDLen)
	case len(b.Entries) > registry.MaxUsageEntries:
		return nil, fmt.Errorf("entries: more than %d", registry.MaxUsageEntries)
	}
	if _, ok := snap.Services.Get(b.ServiceID); !ok {
		return nil, fmt.Errorf("service_id: unknown service %d", b.ServiceID)
	}
	var metrics map[int64]*composition.Metric
	oldest, newest := now.Add(-BatchRetention).Unix()/60, now.Add(maxFutureMinute).Unix()/60
	incs := make([]Increment, 0, len(b.Entries))
	for i, e := range b.Entries {
		app, ok := snap.Applications.Get(e.ApplicationID)
		if !ok || app.ServiceID != b.ServiceID {
			return nil, fmt.Errorf("entries[%d]: unknown application %d of service %d", i, e.ApplicationID, b.ServiceID)
		}
		if metrics == nil {
			metrics = snap.ServiceMetricIDs(b.ServiceID)
		}
		if _, ok := metrics[e.MetricID]; !ok {
			return nil, fmt.Errorf("entries[%d]: unknown metric %d of service %d", i, e.MetricID, b.ServiceID)
		}
		if e.Delta < 0 || e.Delta > composition.MaxUsageDelta {
			return nil, fmt.Errorf("entries[%d]: delta %d is not within 0 and %d", i, e.Delta, int64(composition.MaxUsageDelta))
		}
		if e.Minute < oldest || e.Minute > newest {
			return nil, fmt.Errorf("entries[%d]: minute %d is not within %s before and %s after home's clock",
				i, e.Minute, BatchRetention, maxFutureMinute)
		}
		if e.Delta > 0 {
			incs = append(incs, Increment{App: e.ApplicationID, Metric: e.MetricID, Minute: e.Minute, Delta: e.Delta})
		}
	}
	return incs, nil
}

// LimitedTotals keeps the totals of metrics and periods the application's
// plan limits.
func LimitedTotals(snap *composition.Snapshot, totals []registry.UsageTotal) []registry.UsageTotal {
	type limitKey struct {
		plan, metric int64
		period       string
	}
	if len(totals) == 0 {
		return []registry.UsageTotal{}
	}
	limited := map[limitKey]bool{}
	for _, l := range snap.UsageLimits.All() {
		limited[limitKey{l.PlanID, l.MetricID, l.Period}] = true
	}
	out := totals[:0]
	for _, t := range totals {
		app, ok := snap.Applications.Get(t.ApplicationID)
		if ok && limited[limitKey{app.PlanID, t.MetricID, t.Period}] {
			out = append(out, t)
		}
	}
	return out
}
