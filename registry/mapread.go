package registry

import (
	"cmp"
	"container/heap"
	"maps"
	"slices"
)

// Reads of part of the map (MapQuery) that never copy the whole fleet: the
// instances are visited under the lock, and only those of the answer (a
// page, the changed ones) are drawn; a summary only counts.

// mapCandidate is an instance on the map as a query sees it, before it is
// drawn: either one that phones home (in) or one of the catalog's (cat).
type mapCandidate struct {
	id         string
	mapService string     // the map service it is drawn under
	placement  *Placement // never edited
	status     string
	labels     map[string]string
	in         *instance
	cat        *MapInstance
}

// eachLocked calls fn with every instance on the map: those that phone home,
// then the catalog's that do not.
func (r *Registry) eachLocked(fn func(mapCandidate)) {
	for _, in := range r.instances {
		fn(r.candidateLocked(in))
	}
	for i := range r.catalog {
		if _, ok := r.instances[r.catalog[i].ID]; !ok {
			fn(r.catalogCandidateLocked(&r.catalog[i]))
		}
	}
}

// candidateLocked is in as a query sees it.
func (r *Registry) candidateLocked(in *instance) mapCandidate {
	return mapCandidate{id: in.id, mapService: mapServiceOf(*in.placement, in.reg.Service),
		placement: in.placement, status: in.status.String(), labels: in.reg.Labels, in: in}
}

// catalogCandidateLocked is a catalog instance as a query sees it, placed
// from the current composition.
func (r *Registry) catalogCandidateLocked(in *MapInstance) mapCandidate {
	p := PlacementFor(r.snap, in.Service, in.Labels)
	return mapCandidate{id: in.ID, mapService: mapServiceOf(p, in.Service),
		placement: &p, status: in.Status, labels: in.Labels, cat: in}
}

// lookupLocked finds the instance id on the map.
func (r *Registry) lookupLocked(id string) (mapCandidate, bool) {
	if in, ok := r.instances[id]; ok {
		return r.candidateLocked(in), true
	}
	if i, ok := slices.BinarySearchFunc(r.catalog, id, func(m MapInstance, id string) int { return cmp.Compare(m.ID, id) }); ok {
		return r.catalogCandidateLocked(&r.catalog[i]), true
	}
	return mapCandidate{}, false
}

// mapServiceOf is the map service an instance of service placed at p is
// drawn under (as drawMap draws it).
func mapServiceOf(p Placement, service string) string {
	if p.ServiceID != 0 {
		return p.Service
	}
	return service
}

// keeps tells whether q's filters keep c.
func (c *mapCandidate) keptBy(q MapQuery) bool {
	return q.keeps(c.mapService, c.placement.Plans, c.status, c.labels)
}

// drawLocked copies c for an answer.
func (r *Registry) drawLocked(c mapCandidate) placedInstance {
	if c.cat != nil {
		in := *c.cat
		in.Labels = maps.Clone(in.Labels)
		in.Plans, in.Placements = c.placement.Plans, c.placement.Placements
		return placedInstance{instance: in, placement: *c.placement}
	}
	in := c.in
	return placedInstance{placement: *in.placement, instance: MapInstance{
		ID: in.id, Service: in.reg.Service, Address: in.reg.Address, Port: in.reg.Port,
		Labels: maps.Clone(in.reg.Labels), Status: in.status.String(), Output: in.output,
		Plans: in.placement.Plans, Placements: in.placement.Placements,
		AgentVersion: in.reg.AgentVersion, LastHeartbeat: in.lastHeartbeat,
		Age: Duration(max(0, r.now().Sub(in.lastHeartbeat))),
	}}
}

// MapPage draws the part of the map q keeps (its Summary and Delta aside):
// the services as Map draws them (only q.Service's when set), holding the
// instances the filters keep, and with a Limit only the first Limit of those
// after q.Cursor (or after the first q.Offset) by id. Matched counts the
// instances the filters keep; Next is the cursor of the next page, empty on
// the last.
func (r *Registry) MapPage(q MapQuery) Map {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.syncLocked()
	return r.mapPageLocked(q)
}

func (r *Registry) mapPageLocked(q MapQuery) Map {
	p := &pageCollector{q: q}
	r.eachLocked(p.add)
	return r.drawPageLocked(p)
}

// MapPageSummary is MapPage(page) beside MapSummary(counts), drawn in one
// pass over the fleet at one index: a page with the counts of a wider
// filter (the console's) that agree with it.
func (r *Registry) MapPageSummary(page, counts MapQuery) (Map, MapSummary) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.syncLocked()
	p := &pageCollector{q: page}
	var c summaryCounter
	r.eachLocked(func(m mapCandidate) {
		p.add(m)
		if m.keptBy(counts) {
			c.add(m.mapService, m.placement.Plans, m.status)
		}
	})
	return r.drawPageLocked(p), r.summarizeLocked(counts.Service, &c)
}

// pageCollector keeps, of the candidates it is shown, those of q's page:
// the Offset+Limit smallest ids after q.Cursor that q's filters keep.
type pageCollector struct {
	q              MapQuery
	matched, after int
	page           idHeap
}

func (p *pageCollector) add(c mapCandidate) {
	if !c.keptBy(p.q) {
		return
	}
	p.matched++
	if c.id <= p.q.Cursor && p.q.Cursor != "" {
		return
	}
	p.after++
	switch {
	case p.q.Limit <= 0 || len(p.page) < max(p.q.Offset, 0)+p.q.Limit:
		heap.Push(&p.page, c)
	case c.id < p.page[0].id:
		p.page[0] = c
		heap.Fix(&p.page, 0)
	}
}

// drawPageLocked draws the page p collected.
func (r *Registry) drawPageLocked(p *pageCollector) Map {
	q, page := p.q, p.page
	slices.SortFunc(page, func(a, b mapCandidate) int { return cmp.Compare(a.id, b.id) })
	skip := min(max(q.Offset, 0), len(page))
	page, after := page[skip:], p.after-skip
	placed := make([]placedInstance, len(page))
	for i, c := range page {
		placed[i] = r.drawLocked(c)
	}
	m := drawMap(r.snap, r.index, placed).Only(q.Service)
	if !q.extended() {
		return m // answered as the whole map was
	}
	m.Matched = p.matched
	if q.Limit > 0 && after > len(page) {
		m.Next = page[len(page)-1].id
	}
	return m
}

// MapOne draws instance id alone: its map service as Map draws it (plans
// and placements), holding only that instance; ok is false when the map
// has no such instance.
func (r *Registry) MapOne(id string) (m Map, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.syncLocked()
	c, ok := r.lookupLocked(id)
	if !ok {
		return Map{}, false
	}
	return drawMap(r.snap, r.index, []placedInstance{r.drawLocked(c)}).Only(c.mapService), true
}

// idHeap is a max-heap of candidates by id: the page keeps the Limit
// smallest ids it has seen, the largest on top to be replaced.
type idHeap []mapCandidate

func (h idHeap) Len() int           { return len(h) }
func (h idHeap) Less(i, j int) bool { return h[i].id > h[j].id }
func (h idHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *idHeap) Push(x any)        { *h = append(*h, x.(mapCandidate)) }
func (h *idHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// MapDelta answers a watcher current at index since: the instances q keeps
// that changed after since, and the ids of those removed or no longer kept.
// When the change log cannot tell (since is 0, ahead of the index, or older
// than the log) Full holds MapPage(q) instead.
func (r *Registry) MapDelta(q MapQuery, since uint64) MapDelta {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.syncLocked()
	d := MapDelta{Index: r.index, Revision: r.snap.Revision, Changed: []MapChange{}, Removed: []string{}}
	seen := map[string]bool{}
	var ids []string
	told := since > 0 && since <= r.index && r.changes.since(since, func(id string) {
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	})
	if !told {
		m := r.mapPageLocked(q)
		d.Full = &m
		return d
	}
	slices.Sort(ids)
	for _, id := range ids {
		c, ok := r.lookupLocked(id)
		if !ok || !c.keptBy(q) {
			d.Removed = append(d.Removed, id)
			continue
		}
		d.Changed = append(d.Changed, MapChange{MapService: c.mapService, Instance: r.drawLocked(c).instance})
	}
	return d
}
