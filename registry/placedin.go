package registry

import (
	"cmp"
	"slices"
)

// PlacedIn reports the id of the service the instance id is placed in, and
// whether home knows it: registered here (critical or draining included:
// its last usage still counts) or drawn from the Consul catalog. Usage is
// accepted only from instances placed in the service it is for, so that one
// leaked token cannot write any application's counters.
func (r *Registry) PlacedIn(id string) (serviceID int64, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.syncLocked()
	if in, found := r.instances[id]; found {
		return in.placement.ServiceID, in.placement.ServiceID != 0
	}
	// The catalog is sorted by id (SetCatalog).
	i, found := slices.BinarySearchFunc(r.catalog, id, func(in MapInstance, id string) int { return cmp.Compare(in.ID, id) })
	if !found {
		return 0, false
	}
	p := PlacementFor(r.snap, r.catalog[i].Service, r.catalog[i].Labels)
	return p.ServiceID, p.ServiceID != 0
}

// JoinTokenOf reports the id of the join token instance id registered with
// ("" for the bootstrap token), and whether home knows the instance. The
// instances of one token share one space of usage batch ids: its holders
// can already replace each other's registrations, and nobody else can
// claim their ids first.
func (r *Registry) JoinTokenOf(id string) (tokenID string, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	in, ok := r.instances[id]
	if !ok {
		return "", false
	}
	return in.tokenID, true
}
