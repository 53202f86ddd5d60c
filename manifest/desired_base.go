package manifest

import (
	"slices"

	"github.com/portolan/portolan/composition"
)

// Owners returns the keys of what docs declare, and so own, for
// composition.DiffOptions.Owners: the services of their Service documents
// and the backends of their Backend documents. A service or backend docs
// only refer to (an Account's application, a Placement, a backend usage)
// is carried into Desired's result, but it is home's, not theirs: a prune
// must leave it and its placements alone. None means docs own nothing.
func Owners(docs []Document) []string {
	var out []string
	for _, d := range docs {
		switch {
		case d.Service != nil:
			out = append(out, composition.ServiceKey(d.Service.SystemName))
		case d.Backend != nil:
			out = append(out, composition.BackendKey(d.Backend.SystemName))
		}
	}
	return out
}

// serviceID resolves a service by system_name: one the documents declare,
// else one of base's, carried over with all it owns.
func (b *builder) serviceID(path, name string) (int64, error) {
	if id, ok := b.services[name]; ok {
		return id, nil
	}
	if b.failed[refusedService(name)] {
		return 0, errCascade // not base's either: the documents' is the one meant
	}
	if b.base != nil {
		if s, ok := b.base.ServiceBySystemName(name); ok {
			b.carryService(s)
			return s.ID, nil
		}
	}
	return 0, b.errorf(path, "%q is not a service of the documents%s", name, b.orHome())
}

// backendID resolves a backend by system_name as serviceID does a service.
func (b *builder) backendID(path, name string) (int64, error) {
	if id, ok := b.backends[name]; ok {
		return id, nil
	}
	if b.failed[refusedBackend(name)] {
		return 0, errCascade
	}
	if b.base != nil {
		if api, ok := b.base.BackendAPIs.Find(func(a *composition.BackendAPI) bool { return a.SystemName == name }); ok {
			b.carryBackend(api)
			return api.ID, nil
		}
	}
	return 0, b.errorf(path, "%q is not a backend of the documents%s", name, b.orHome())
}

// orHome ends a "not found" message: where else Desired looked.
func (b *builder) orHome() string {
	if b.base != nil {
		return " nor at home"
	}
	return ""
}

// carryBackend copies a backend of base, with its metrics and mapping
// rules, into the result unchanged.
func (b *builder) carryBackend(api *composition.BackendAPI) {
	base := b.base
	b.tx.Put(api)
	b.backends[api.SystemName] = api.ID
	for _, m := range base.MetricsOf(composition.OwnerBackendAPI, api.ID) {
		b.tx.Put(m)
	}
	for _, r := range base.MappingRulesOf(composition.OwnerBackendAPI, api.ID) {
		b.tx.Put(r)
	}
}

// carryService copies a service of base into the result unchanged, with its
// proxy, metrics, mapping rules, features, stock plans with their limits and
// pricing rules, and backend usages with their backends. A usage of a
// backend the documents declare points at the declared one, and limits and
// pricing rules on that backend's metrics follow them by system_name; those
// on a metric the declared backend lacks are left out.
func (b *builder) carryService(s *composition.Service) {
	base, tx := b.base, b.tx
	tx.Put(s)
	b.services[s.SystemName] = s.ID
	if p, ok := base.Proxies.Get(s.ID); ok {
		tx.Put(p)
	}
	for _, m := range base.MetricsOf(composition.OwnerService, s.ID) {
		tx.Put(m)
	}
	for _, r := range base.MappingRulesOf(composition.OwnerService, s.ID) {
		tx.Put(r)
	}
	// metric maps the ids of base's metrics the plans may name to the
	// result's: the same, but for those of a declared backend.
	metric := map[int64]int64{}
	for id := range base.ServiceMetricIDs(s.ID) {
		metric[id] = id
	}
	for _, u := range base.BackendUsages.Filter(func(u *composition.BackendUsage) bool { return u.ServiceID == s.ID }) {
		api, ok := base.BackendAPIs.Get(u.BackendAPIID)
		if !ok {
			continue
		}
		if !b.declared[api.SystemName] {
			if _, have := b.backends[api.SystemName]; !have {
				b.carryBackend(api)
			}
			tx.Put(u)
			continue
		}
		n := *u
		n.BackendAPIID = b.backends[api.SystemName]
		tx.Put(&n)
		for _, m := range base.MetricsOf(composition.OwnerBackendAPI, api.ID) {
			delete(metric, m.ID)
			if to, ok := b.view().Metrics.Find(func(o *composition.Metric) bool {
				return o.OwnerType == composition.OwnerBackendAPI && o.OwnerID == n.BackendAPIID && o.SystemName == m.SystemName
			}); ok {
				metric[m.ID] = to.ID
			}
		}
	}
	plans := map[int64]bool{}
	for _, p := range base.PlansOf(s.ID) {
		if p.Custom {
			continue // an application's copy: applications are not carried
		}
		plans[p.ID] = true
		tx.Put(p)
		for _, l := range base.UsageLimits.Filter(func(l *composition.UsageLimit) bool { return l.PlanID == p.ID }) {
			if to, ok := metric[l.MetricID]; ok {
				n := *l
				n.MetricID = to
				tx.Put(&n)
			}
		}
		for _, r := range base.PricingRules.Filter(func(r *composition.PricingRule) bool { return r.PlanID == p.ID }) {
			if to, ok := metric[r.MetricID]; ok {
				n := *r
				n.MetricID = to
				tx.Put(&n)
			}
		}
	}
	for _, f := range base.FeaturesOf(composition.OwnerService, s.ID) {
		n := *f
		n.PlanIDs = slices.DeleteFunc(slices.Clone(f.PlanIDs), func(id int64) bool { return !plans[id] })
		if len(n.PlanIDs) == 0 {
			n.PlanIDs = nil
		}
		tx.Put(&n)
	}
}
