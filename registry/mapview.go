package registry

import (
	"cmp"
	"maps"
	"slices"

	"github.com/portolan/portolan/composition"
)

// Map draws the service map as it is now.
func (r *Registry) Map() Map {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.syncLocked()
	now := r.now()
	placed := make([]placedInstance, 0, len(r.instances))
	for _, in := range r.instances {
		placed = append(placed, placedInstance{
			placement: *in.placement,
			instance: MapInstance{
				ID: in.id, Service: in.reg.Service, Address: in.reg.Address, Port: in.reg.Port,
				Labels: maps.Clone(in.reg.Labels), Status: in.status.String(), Output: in.output,
				Plans: in.placement.Plans, Placements: in.placement.Placements,
				AgentVersion: in.reg.AgentVersion, LastHeartbeat: in.lastHeartbeat,
				Age: Duration(max(0, now.Sub(in.lastHeartbeat))),
			},
		})
	}
	placed = append(placed, r.catalogLocked()...)
	return drawMap(r.snap, r.index, placed)
}

// placedInstance is an instance with the placement it is drawn under.
type placedInstance struct {
	instance  MapInstance
	placement Placement
}

// drawMap lays out the map: every service of snap in id order, with its plans
// and placements, then services the composition does not know, by name,
// holding the instances no placement or service picked. Instances are
// grouped under their placement's service and sorted by id.
func drawMap(snap *composition.Snapshot, index uint64, placed []placedInstance) Map {
	m := Map{Index: index, Revision: snap.Revision, Services: []MapService{}}
	byID := map[int64]int{}
	placements := map[int64][]*composition.Placement{} // by service, read once: not a scan per service
	for _, p := range snap.Placements.All() {
		placements[p.ServiceID] = append(placements[p.ServiceID], p)
	}
	for _, svc := range snap.Services.All() {
		byID[svc.ID] = len(m.Services)
		m.Services = append(m.Services, MapService{
			Name: svc.SystemName, ID: svc.ID, Plans: planRefs(snap.PlansOf(svc.ID)),
			Placements: mapPlacements(snap, placements[svc.ID]), Instances: []MapInstance{},
		})
	}
	unknown := map[string][]MapInstance{}
	for _, p := range placed {
		if i, ok := byID[p.placement.ServiceID]; ok && p.placement.ServiceID != 0 {
			m.Services[i].Instances = append(m.Services[i].Instances, p.instance)
			continue
		}
		unknown[p.instance.Service] = append(unknown[p.instance.Service], p.instance)
	}
	for _, name := range slices.Sorted(maps.Keys(unknown)) {
		m.Services = append(m.Services, MapService{
			Name: name, Plans: []PlanRef{}, Placements: []MapPlacement{}, Instances: unknown[name],
		})
	}
	for i := range m.Services {
		slices.SortFunc(m.Services[i].Instances, func(a, b MapInstance) int { return cmp.Compare(a.ID, b.ID) })
	}
	return m
}

// mapPlacements returns the placements that put instances in a service, in
// id order.
func mapPlacements(snap *composition.Snapshot, pls []*composition.Placement) []MapPlacement {
	out := make([]MapPlacement, len(pls))
	for i, p := range pls {
		sel := maps.Clone(p.Selector.Labels)
		if sel == nil {
			sel = map[string]string{}
		}
		out[i] = MapPlacement{ID: p.ID, Name: p.Name, SelectorService: p.Selector.Service, Selector: sel,
			Plans: placementPlans(snap, p)}
	}
	return out
}

// Only returns the map restricted to the service named name (system_name);
// an empty name keeps every service.
func (m Map) Only(name string) Map {
	if name == "" {
		return m
	}
	out := m
	out.Services = []MapService{}
	for _, s := range m.Services {
		if s.Name == name {
			out.Services = append(out.Services, s)
		}
	}
	return out
}

// Passing returns the instances of a map service whose status is passing:
// the set that receives traffic.
func (s MapService) Passing() []MapInstance {
	var out []MapInstance
	for _, in := range s.Instances {
		if in.Status == StatusPassing {
			out = append(out, in)
		}
	}
	return out
}

// StatusAlive is the status of an instance known only from gossip: its node is
// alive, its health unknown.
const StatusAlive = "alive"

// DrawMap lays out a map of instances known from elsewhere than this
// registry (an agent's gossip view): each is placed from snap by its service
// and labels.
func DrawMap(snap *composition.Snapshot, index uint64, instances []MapInstance) Map {
	placed := make([]placedInstance, len(instances))
	for i, in := range instances {
		p := PlacementFor(snap, in.Service, in.Labels)
		in.Plans, in.Placements = p.Plans, p.Placements
		placed[i] = placedInstance{instance: in, placement: p}
	}
	return drawMap(snap, index, placed)
}
