package registry

import (
	"maps"
	"slices"
)

// summaryKey counts instances of a map service, plan and status; plan is ""
// for the service's own count, noPlan for instances serving none.
type summaryKey struct{ service, plan, status string }

// noPlan keys the instances that serve no plan; it cannot be a system_name.
const noPlan = "\x00"

// MapSummary counts the instances q's filters keep, by map service, plan and
// status (its Limit, Cursor and Delta aside). Every service of the
// composition is listed (only q.Service when set), then the services the
// composition does not know, by name; a service's plans in the
// composition's order, then others by name, then "" for no plan. It counts
// under the lock and copies no instance.
func (r *Registry) MapSummary(q MapQuery) MapSummary {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.syncLocked()
	var c summaryCounter
	r.eachLocked(func(m mapCandidate) {
		if m.keptBy(q) {
			c.add(m.mapService, m.placement.Plans, m.status)
		}
	})
	return r.summarizeLocked(q.Service, &c)
}

// summarizeLocked lays out what c counted (as MapSummary does), only
// service's when it is set.
func (r *Registry) summarizeLocked(service string, c *summaryCounter) MapSummary {
	c.done()
	counts, total := c.counts, c.total
	s := MapSummary{Index: r.index, Revision: r.snap.Revision, Instances: total, Services: []MapServiceSummary{}}
	plansOf := c.plansOf()
	known := map[string]bool{}
	for _, svc := range r.snap.Services.All() {
		known[svc.SystemName] = true
		if service != "" && service != svc.SystemName {
			continue
		}
		var order []string
		for _, p := range r.snap.PlansOf(svc.ID) {
			order = append(order, p.SystemName)
		}
		s.Services = append(s.Services, summarize(svc.SystemName, order, plansOf[svc.SystemName], counts))
	}
	var others []string
	for name := range plansOf {
		if !known[name] {
			others = append(others, name)
		}
	}
	slices.Sort(others)
	for _, name := range others {
		s.Services = append(s.Services, summarize(name, nil, plansOf[name], counts))
	}
	return s
}

// summaryCounter counts instances by map service, plan and status. It
// counts in two steps, so that an instance costs one map update: first by
// (service, status, plan list), where instances placed alike share one
// plan list, then, in done, each group under its service and plans.
type summaryCounter struct {
	groups map[groupKey]*summaryGroup
	counts map[summaryKey]int // after done
	total  int
}

// groupKey groups instances of a service and status serving one plan list
// (by its first element's address: lists shared by placement group
// together; equal lists that are not shared only make more groups).
type groupKey struct {
	service, status string
	head            *PlanRef
	n               int
}

type summaryGroup struct {
	plans     []PlanRef
	instances int
}

func (c *summaryCounter) add(service string, plans []PlanRef, status string) {
	if c.groups == nil {
		c.groups = map[groupKey]*summaryGroup{}
	}
	c.total++
	k := groupKey{service: service, status: status, n: len(plans)}
	if len(plans) > 0 {
		k.head = &plans[0]
	}
	g := c.groups[k]
	if g == nil {
		g = &summaryGroup{plans: plans}
		c.groups[k] = g
	}
	g.instances++
}

// done counts the groups under their services and plans.
func (c *summaryCounter) done() {
	c.counts = map[summaryKey]int{}
	for k, g := range c.groups {
		c.counts[summaryKey{k.service, "", k.status}] += g.instances
		if len(g.plans) == 0 {
			c.counts[summaryKey{k.service, noPlan, k.status}] += g.instances
		}
		for _, p := range g.plans {
			c.counts[summaryKey{k.service, p.SystemName, k.status}] += g.instances
		}
	}
}

// plansOf gathers the plans seen per service.
func (c *summaryCounter) plansOf() map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for k := range c.counts {
		if k.plan != "" {
			if out[k.service] == nil {
				out[k.service] = map[string]bool{}
			}
			out[k.service][k.plan] = true
		}
	}
	return out
}

// summarize lays out the counts of one service: its plans in order first,
// then the others seen, by name, then no plan.
func summarize(service string, order []string, seen map[string]bool, counts map[summaryKey]int) MapServiceSummary {
	statuses := func(plan string) (map[string]int, int) {
		out, n := map[string]int{}, 0
		for k, c := range counts {
			if k.service == service && k.plan == plan {
				out[k.status] += c
				n += c
			}
		}
		return out, n
	}
	st, n := statuses("")
	out := MapServiceSummary{Name: service, Instances: n, Statuses: st, Plans: []MapPlanSummary{}}
	add := func(plan string) {
		if !seen[plan] {
			return
		}
		delete(seen, plan)
		st, n := statuses(plan)
		name := plan
		if plan == noPlan {
			name = ""
		}
		out.Plans = append(out.Plans, MapPlanSummary{Plan: name, Instances: n, Statuses: st})
	}
	seen = maps.Clone(seen)
	for _, p := range order {
		add(p)
	}
	for _, p := range slices.Sorted(maps.Keys(seen)) {
		if p != noPlan {
			add(p)
		}
	}
	add(noPlan)
	return out
}
