package usage

import (
	"errors"
	"fmt"
	"time"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/registry"
)

// MaxFutureMinute bounds how far ahead of home's clock a batch's minutes may
// be (agents' clocks drift).
const MaxFutureMinute = time.Hour

// Skipped counts a batch's entries that ValidateBatch leaves out: what
// they name was deleted after the agent counted them (Applications,
// Metrics), or their minute is outside home's window (Minutes).
type Skipped struct{ Applications, Metrics, Minutes int }

// Deleted is the number of entries skipped for what they name.
func (s Skipped) Deleted() int { return s.Applications + s.Metrics }

// ValidateBatch checks a batch against the composition and turns it into
// increments. Every problem names the entry and the id at fault. An entry of
// an application deleted since (or of a metric no longer the service's:
// deleted, or its backend unlinked) is skipped and counted, not refused: an
// agent counts until its view of the deletion arrives, and it sets a refused
// batch aside for good, which would lose every live application's usage
// with it. A skipped entry must still be well formed; an application of
// another service is no deletion, and is refused.
//
// So is an entry whose minute is more than BatchRetention behind or
// MaxFutureMinute ahead of home's clock: its agent's clock was wrong when
// it counted (a Raspberry Pi without an RTC serves from 1970 until NTP
// steps its clock; a VM resumes days later), or the batch is older than
// home remembers batch ids, so it may have been counted already. Such an
// entry is not counted, as apisonator counts no transaction outside its
// window (transaction.rb, ensure_on_time!); refusing the batch would lose
// the usage counted after the step with it.
func ValidateBatch(snap *composition.Snapshot, b *registry.UsageBatch, now time.Time) ([]Increment, Skipped, error) {
	var skipped Skipped
	switch {
	case b.ID == "":
		return nil, skipped, errors.New("id: a usage batch needs an id")
	case len(b.ID) > registry.MaxBatchIDLen:
		return nil, skipped, fmt.Errorf("id: longer than %d bytes", registry.MaxBatchIDLen)
	case len(b.Entries) > registry.MaxUsageEntries:
		return nil, skipped, fmt.Errorf("entries: more than %d", registry.MaxUsageEntries)
	}
	if _, ok := snap.Services.Get(b.ServiceID); !ok {
		return nil, skipped, fmt.Errorf("service_id: unknown service %d", b.ServiceID)
	}
	var metrics map[int64]*composition.Metric
	oldest, newest := now.Add(-BatchRetention).Unix()/60, now.Add(MaxFutureMinute).Unix()/60
	incs := make([]Increment, 0, len(b.Entries))
	for i, e := range b.Entries {
		if e.Delta < 0 || e.Delta > composition.MaxUsageDelta {
			return nil, skipped, fmt.Errorf("entries[%d]: delta %d is not within 0 and %d", i, e.Delta, int64(composition.MaxUsageDelta))
		}
		if e.Minute < 0 {
			return nil, skipped, fmt.Errorf("entries[%d]: minute %d is before 1970", i, e.Minute)
		}
		app, ok := snap.Applications.Get(e.ApplicationID)
		if !ok {
			skipped.Applications++
			continue
		}
		if app.ServiceID != b.ServiceID {
			return nil, skipped, fmt.Errorf("entries[%d]: application %d is not of service %d", i, e.ApplicationID, b.ServiceID)
		}
		if metrics == nil {
			metrics = snap.ServiceMetricIDs(b.ServiceID)
		}
		if _, ok := metrics[e.MetricID]; !ok {
			skipped.Metrics++
			continue
		}
		if e.Minute < oldest || e.Minute > newest {
			skipped.Minutes++
			continue
		}
		if e.Delta > 0 {
			incs = append(incs, Increment{App: e.ApplicationID, Metric: e.MetricID, Minute: e.Minute, Delta: e.Delta})
		}
	}
	return incs, skipped, nil
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

// MaxReplyTotals bounds the totals of one usage reply. Every reply carries
// the totals of the service's applications with usage in the current
// periods, and a service with tens of thousands of active applications
// would make it larger than an agent reads (registry/client.MaxReplyBytes,
// 16 MiB): the agent could never read the reply to a batch home applied
// and would send it forever. A total is at most ~170 bytes of JSON, so
// 20,000 of them (a quarter of the 16 MiB, with room left for the reply's
// limiter counts) are always readable.
const MaxReplyTotals = 20_000

// ReplyTotals bounds the totals of the reply to batch at MaxReplyTotals,
// keeping first those of the applications the batch counted (the agent
// that sent it enforces their limits now); the others fill what room is
// left, in the order given. It reorders totals in place and returns a
// prefix of it.
func ReplyTotals(totals []registry.UsageTotal, batch *registry.UsageBatch) []registry.UsageTotal {
	if len(totals) <= MaxReplyTotals {
		return totals
	}
	apps := make(map[int64]struct{}, len(batch.Entries))
	for _, e := range batch.Entries {
		apps[e.ApplicationID] = struct{}{}
	}
	first := 0
	for i, t := range totals {
		if _, ok := apps[t.ApplicationID]; ok {
			totals[first], totals[i] = totals[i], totals[first]
			first++
		}
	}
	return totals[:MaxReplyTotals]
}
