package registry

import (
	"cmp"
	"maps"
	"reflect"
	"slices"
)

// SetCatalog replaces the instances known from an outside catalog (the Consul
// catalog of the datacenter), so the map shows every instance any agent
// registered there, not only those that phone home here. An instance that
// also phones home is drawn once, from its heartbeats. The index moves only
// when the catalog changed.
func (r *Registry) SetCatalog(instances []MapInstance) {
	instances = slices.Clone(instances)
	slices.SortFunc(instances, func(a, b MapInstance) int { return cmp.Compare(a.ID, b.ID) })
	r.mu.Lock()
	defer r.mu.Unlock()
	if reflect.DeepEqual(r.catalog, instances) {
		return
	}
	r.catalog = instances
	r.changes.reset(r.index + 1)
	r.bumpLocked()
}

// catalogLocked returns the catalog instances that do not phone home here,
// each placed from the current composition.
func (r *Registry) catalogLocked() []placedInstance {
	out := make([]placedInstance, 0, len(r.catalog))
	for _, in := range r.catalog {
		if _, ok := r.instances[in.ID]; ok {
			continue
		}
		p := PlacementFor(r.snap, in.Service, in.Labels)
		in.Labels = maps.Clone(in.Labels)
		in.Plans, in.Placements = p.Plans, p.Placements
		out = append(out, placedInstance{instance: in, placement: p})
	}
	return out
}
