package registry

import (
	"cmp"
	"slices"

	"github.com/portolan/portolan/composition"
)

// PlacementFor resolves where an instance of service with labels serves in
// snap:
//
//   - every placement whose selector matches picks it: the instance serves
//     the placement's service and plans (no plan ids = all of the service's
//     plans). With several matches the service is that of the first
//     placement (lowest id), and only the placements onto that service
//     count: their plans' union, in plan id order, and their names, in id
//     order. An instance serves one service, so a matching placement onto
//     another (a pool being moved, its old placement still there) places
//     nothing: its plans would be listed on an instance that cannot serve
//     them (the map, the placement file, Consul's meta);
//   - no placement matches: the service whose system_name is the instance's
//     service name, with all its plans, and no placement names;
//   - neither: no service and no plans.
//
// Revision is always snap's.
func PlacementFor(snap *composition.Snapshot, service string, labels map[string]string) Placement {
	p := Placement{Plans: []PlanRef{}, Revision: snap.Revision}
	seen := map[int64]bool{}
	for _, pl := range snap.PlacementsFor(service, labels) {
		svc, ok := snap.Services.Get(pl.ServiceID)
		if !ok {
			continue // cascades remove placements of deleted services; be safe anyway
		}
		if p.Service == "" {
			p.Service, p.ServiceID = svc.SystemName, svc.ID
		} else if svc.ID != p.ServiceID {
			continue
		}
		p.Placements = append(p.Placements, pl.Name)
		for _, plan := range placementPlans(snap, pl) {
			if !seen[plan.ID] {
				seen[plan.ID] = true
				p.Plans = append(p.Plans, plan)
			}
		}
	}
	if p.Service != "" {
		slices.SortFunc(p.Plans, func(a, b PlanRef) int { return cmp.Compare(a.ID, b.ID) })
		return p
	}
	if svc, ok := snap.ServiceBySystemName(service); ok {
		p.Service, p.ServiceID = svc.SystemName, svc.ID
		p.Plans = planRefs(snap.PlansOf(svc.ID))
	}
	return p
}

// placementPlans returns the plans a placement serves, in id order: those it
// lists (ignoring ids the composition no longer has) with their
// customizations (an application's custom plan is served where its original
// is), or all of its service's.
func placementPlans(snap *composition.Snapshot, pl *composition.Placement) []PlanRef {
	if len(pl.PlanIDs) == 0 {
		return planRefs(snap.PlansOf(pl.ServiceID))
	}
	out := make([]PlanRef, 0, len(pl.PlanIDs))
	for _, id := range pl.PlanIDs {
		if plan, ok := snap.ApplicationPlans.Get(id); ok {
			out = append(out, planRef(plan))
			out = append(out, planRefs(snap.Customizations(id))...)
		}
	}
	slices.SortFunc(out, func(a, b PlanRef) int { return cmp.Compare(a.ID, b.ID) })
	return slices.CompactFunc(out, func(a, b PlanRef) bool { return a.ID == b.ID })
}

func planRefs(plans []*composition.ApplicationPlan) []PlanRef {
	out := make([]PlanRef, len(plans))
	for i, p := range plans {
		out[i] = planRef(p)
	}
	return out
}

func planRef(p *composition.ApplicationPlan) PlanRef {
	return PlanRef{ID: p.ID, SystemName: p.SystemName, Name: p.Name}
}

// samePlacement compares the content of two placements, leaving out the
// revision they were computed from: an instance is told again only when where
// it serves changed, not on every composition write.
func samePlacement(a, b Placement) bool {
	return a.Service == b.Service && a.ServiceID == b.ServiceID &&
		slices.Equal(a.Plans, b.Plans) && slices.Equal(a.Placements, b.Placements)
}
