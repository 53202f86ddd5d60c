package registry

import (
	"cmp"
	"slices"
)

// What a client does with a map it holds: a peer that answers only whole
// maps (an agent's /v1/agent/map, an older home) leaves the filtering,
// paging and counting of a MapQuery to it, and a watcher applies deltas to
// its copy.

// Select returns the part of m that q keeps, as MapPage draws it: the
// services (q.Service's alone when set) with the instances the filters
// keep, with a Limit only the first Limit after q.Cursor (or after the
// first q.Offset) by id; Matched and Next set when q filters or pages. m is left alone.
func (m Map) Select(q MapQuery) Map {
	out := m.selectInstances(q)
	// A service the composition does not know is on the map only through
	// its instances, as home draws it.
	out.Services = slices.DeleteFunc(out.Services, func(s MapService) bool { return s.ID == 0 && len(s.Instances) == 0 })
	return out
}

func (m Map) selectInstances(q MapQuery) Map {
	out := m.Only(q.Service)
	out.Services = slices.Clone(out.Services)
	var kept []string
	for i, s := range out.Services {
		ins := []MapInstance{}
		for _, in := range s.Instances {
			if q.Keeps(s.Name, in) {
				ins = append(ins, in)
				kept = append(kept, in.ID)
			}
		}
		out.Services[i].Instances = ins
	}
	out.Matched, out.Next = 0, ""
	if !q.extended() {
		return out
	}
	out.Matched = len(kept)
	if q.Limit <= 0 && q.Cursor == "" && q.Offset <= 0 {
		return out
	}
	slices.Sort(kept)
	from, _ := slices.BinarySearch(kept, q.Cursor)
	if from < len(kept) && kept[from] == q.Cursor {
		from++
	}
	from = min(from+max(q.Offset, 0), len(kept))
	to := len(kept)
	if q.Limit > 0 && from+q.Limit < to {
		to = from + q.Limit
		out.Next = kept[to-1]
	}
	page := map[string]bool{}
	for _, id := range kept[from:to] {
		page[id] = true
	}
	for i := range out.Services {
		out.Services[i].Instances = slices.DeleteFunc(out.Services[i].Instances,
			func(in MapInstance) bool { return !page[in.ID] })
	}
	return out
}

// Summary counts the instances of m that q's filters keep, as MapSummary
// does: services in the map's order, each one's plans in its order, then
// others by name, then "" for no plan.
func (m Map) Summary(q MapQuery) MapSummary {
	var c summaryCounter
	for _, s := range m.Only(q.Service).Services {
		for _, in := range s.Instances {
			if q.Keeps(s.Name, in) {
				c.add(s.Name, in.Plans, in.Status)
			}
		}
	}
	c.done()
	plansOf := c.plansOf()
	out := MapSummary{Index: m.Index, Revision: m.Revision, Instances: c.total, Services: []MapServiceSummary{}}
	for _, s := range m.Only(q.Service).Services {
		if _, counted := plansOf[s.Name]; s.ID == 0 && !counted {
			continue // known only through its instances, as home counts it
		}
		order := make([]string, len(s.Plans))
		for i, p := range s.Plans {
			order[i] = p.SystemName
		}
		out.Services = append(out.Services, summarize(s.Name, order, plansOf[s.Name], c.counts))
	}
	return out
}

// Apply brings m, drawn at d's index or an earlier one a watcher followed,
// to d: d.Full replaces it, else the removed instances leave and the
// changed ones take their place under their map service (which appears,
// without plans, if m had none of that name), in id order.
func (m *Map) Apply(d MapDelta) {
	if d.Full != nil {
		*m = *d.Full
		return
	}
	m.Index, m.Revision = d.Index, d.Revision
	gone := map[string]bool{}
	for _, id := range d.Removed {
		gone[id] = true
	}
	for _, c := range d.Changed {
		gone[c.Instance.ID] = true
	}
	for i := range m.Services {
		m.Services[i].Instances = slices.DeleteFunc(m.Services[i].Instances,
			func(in MapInstance) bool { return gone[in.ID] })
	}
	for _, c := range d.Changed {
		i := slices.IndexFunc(m.Services, func(s MapService) bool { return s.Name == c.MapService })
		if i < 0 {
			i = len(m.Services)
			m.Services = append(m.Services, MapService{Name: c.MapService, Plans: []PlanRef{}, Placements: []MapPlacement{}})
		}
		m.Services[i].Instances = append(m.Services[i].Instances, c.Instance)
	}
	for i := range m.Services {
		slices.SortFunc(m.Services[i].Instances, func(a, b MapInstance) int { return cmp.Compare(a.ID, b.ID) })
	}
	// As drawMap lays it out: the composition's services in their order,
	// then the others, by name, while they have instances.
	m.Services = slices.DeleteFunc(m.Services, func(s MapService) bool { return s.ID == 0 && len(s.Instances) == 0 })
	slices.SortStableFunc(m.Services, func(a, b MapService) int {
		switch {
		case a.ID != 0 && b.ID != 0:
			return 0
		case a.ID != 0:
			return -1
		case b.ID != 0:
			return 1
		}
		return cmp.Compare(a.Name, b.Name)
	})
}
