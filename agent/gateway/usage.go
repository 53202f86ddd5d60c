package gateway

import (
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/portolan/portolan/composition"
)

// policyUsage counts the extra usage policies report (custom_metrics) for
// a service: a metric named by its system name is resolved in the view's
// snapshot and admitted through the ledger without a limit check, as
// 3scale's backend takes a report; a method's usage counts to its parent
// too, as a mapping rule's does.
type policyUsage struct {
	g         *Gateway
	snap      *composition.Snapshot
	serviceID int64

	once    sync.Once
	metrics map[string]*composition.Metric // by system name: the service's, then its backends', then theirs by extended name
}

func (u *policyUsage) resolve() {
	u.metrics = map[string]*composition.Metric{}
	add := func(owner string, id int64) {
		for _, m := range u.snap.Metrics.Filter(func(m *composition.Metric) bool { return m.OwnerType == owner && m.OwnerID == id }) {
			if _, ok := u.metrics[m.SystemName]; !ok {
				u.metrics[m.SystemName] = m
			}
		}
	}
	add(composition.OwnerService, u.serviceID)
	backends := u.snap.BackendUsages.Filter(func(b *composition.BackendUsage) bool { return b.ServiceID == u.serviceID })
	for _, b := range backends {
		add(composition.OwnerBackendAPI, b.BackendAPIID)
	}
	// Then a backend's metrics by 3scale's extended name (system name, a
	// dot, the backend's id), the name 3scale's proxy configs and APIcast
	// give them ("hits.20"), never in place of a plain name.
	for _, b := range backends {
		for _, m := range u.snap.Metrics.Filter(func(m *composition.Metric) bool {
			return m.OwnerType == composition.OwnerBackendAPI && m.OwnerID == b.BackendAPIID
		}) {
			if name := m.SystemName + "." + strconv.FormatInt(b.BackendAPIID, 10); u.metrics[name] == nil {
				u.metrics[name] = m
			}
		}
	}
}

// addHits adds delta of metric (a system name) to hits, and to its
// parent's when it is a method, as a mapping rule's usage counts: the usage
// a policy adds before authorization (soap). False: the service has no such
// metric.
func (u *policyUsage) addHits(hits []composition.Hit, metric string, delta int64) ([]composition.Hit, bool) {
	u.once.Do(u.resolve)
	m, ok := u.metrics[metric]
	if !ok {
		return hits, false
	}
	hits = composition.AddHit(hits, m.ID, delta)
	if m.ParentID != 0 {
		hits = composition.AddHit(hits, m.ParentID, delta)
	}
	return hits, true
}

// CountUsage implements policy.UsageCounter.
func (u *policyUsage) CountUsage(appID int64, metric string, delta int64, now time.Time) error {
	u.once.Do(u.resolve)
	m, ok := u.metrics[metric]
	if !ok {
		return fmt.Errorf("the service has no metric %q", metric)
	}
	hits := make([]composition.Hit, 1, 2)
	hits[0] = composition.Hit{MetricID: m.ID, Delta: delta}
	if m.ParentID != 0 {
		hits = append(hits, composition.Hit{MetricID: m.ParentID, Delta: delta})
	}
	if err := u.g.ledger.Admit(appID, hits, now, admitAll); err != nil {
		return fmt.Errorf("count %d of metric %q: %w", delta, metric, err)
	}
	return nil
}
