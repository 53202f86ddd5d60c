package manifest

import (
	"cmp"
	"slices"

	"github.com/portolan/portolan/composition"
)

// Sort puts documents, and the lists inside each, in Export's canonical
// order: documents by kind (Kinds) then name; metrics with hits first, then
// by system_name, methods by system_name; backend usages, features and plans
// by name; limits by backend, metric and period (shortest first); pricing
// rules by backend, metric and min; users by username; applications by
// service and name. Mapping rules keep their order, which is their
// meaning, and so do applications of one name on one service: the nth of
// them is home's nth (desired_secrets.go), whatever their plans. Documents
// written in any order then compare equal to an export.
func Sort(docs []Document) {
	for i := range docs {
		docs[i].sortLists()
	}
	slices.SortStableFunc(docs, func(a, b Document) int {
		return cmp.Or(cmp.Compare(slices.Index(Kinds, a.Kind), slices.Index(Kinds, b.Kind)), cmp.Compare(a.Name(), b.Name()))
	})
}

func (d *Document) sortLists() {
	switch {
	case d.Service != nil:
		s := d.Service
		sortMetrics(s.Metrics)
		slices.SortStableFunc(s.BackendUsages, func(a, b BackendUsage) int { return cmp.Compare(a.Backend, b.Backend) })
		slices.SortStableFunc(s.Features, func(a, b Feature) int { return cmp.Compare(a.SystemName, b.SystemName) })
		slices.SortStableFunc(s.Plans, func(a, b Plan) int { return cmp.Compare(a.SystemName, b.SystemName) })
		for i := range s.Plans {
			p := &s.Plans[i]
			slices.SortStableFunc(p.Limits, func(a, b Limit) int {
				return cmp.Or(cmp.Compare(a.Backend, b.Backend), cmp.Compare(a.Metric, b.Metric),
					cmp.Compare(slices.Index(composition.Periods, a.Period), slices.Index(composition.Periods, b.Period)))
			})
			slices.SortStableFunc(p.PricingRules, func(a, b PricingRule) int {
				return cmp.Or(cmp.Compare(a.Backend, b.Backend), cmp.Compare(a.Metric, b.Metric), cmp.Compare(a.Min, b.Min))
			})
			slices.Sort(p.Features)
		}
	case d.Backend != nil:
		sortMetrics(d.Backend.Metrics)
	case d.Account != nil:
		a := d.Account
		slices.SortStableFunc(a.Users, func(x, y User) int { return cmp.Compare(x.Username, y.Username) })
		slices.SortStableFunc(a.Applications, func(x, y Application) int {
			return cmp.Or(cmp.Compare(x.Service, y.Service), cmp.Compare(x.Name, y.Name))
		})
	}
}

func sortMetrics(ms []Metric) {
	slices.SortStableFunc(ms, func(a, b Metric) int {
		return cmp.Or(cmp.Compare(notHits(a), notHits(b)), cmp.Compare(a.SystemName, b.SystemName))
	})
	for i := range ms {
		slices.SortStableFunc(ms[i].Methods, func(a, b Method) int { return cmp.Compare(a.SystemName, b.SystemName) })
	}
}

// notHits is 0 for hits, 1 for any other metric: hits sorts first.
func notHits(m Metric) int {
	if m.SystemName == "hits" {
		return 0
	}
	return 1
}
