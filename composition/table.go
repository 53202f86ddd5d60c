package composition

import (
	"sort"
	"time"
)

// Entity is anything the composition stores under an id.
type Entity interface {
	Key() int64
	stamp(id int64, created, updated time.Time)
}

// Table is a set of entities of one kind keyed by id. Tables inside a Snapshot
// are read-only; a Tx copies a table on its first write, so a write costs one
// map copy of the kind it touches, never a copy of the whole composition.
type Table[E Entity] struct {
	items map[int64]E
	owned bool
}

// Get returns the entity with id.
func (t *Table[E]) Get(id int64) (E, bool) {
	e, ok := t.items[id]
	return e, ok
}

// Len returns the number of entities.
func (t *Table[E]) Len() int { return len(t.items) }

// All returns every entity in id order (3scale lists in creation order).
func (t *Table[E]) All() []E { return t.Filter(nil) }

// Filter returns the entities keep accepts, in id order; a nil keep accepts all.
func (t *Table[E]) Filter(keep func(E) bool) []E {
	out := make([]E, 0, len(t.items))
	for _, e := range t.items {
		if keep == nil || keep(e) {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out
}

// Count returns how many entities keep accepts.
func (t *Table[E]) Count(keep func(E) bool) int {
	n := 0
	for _, e := range t.items {
		if keep(e) {
			n++
		}
	}
	return n
}

// Find returns an entity match accepts; which one, when several do, is unspecified.
func (t *Table[E]) Find(match func(E) bool) (E, bool) {
	for _, e := range t.items {
		if match(e) {
			return e, true
		}
	}
	var zero E
	return zero, false
}

func (t *Table[E]) put(e E) {
	t.own()
	t.items[e.Key()] = e
}

func (t *Table[E]) del(id int64) {
	t.own()
	delete(t.items, id)
}

func (t *Table[E]) own() {
	if t.owned {
		return
	}
	m := make(map[int64]E, len(t.items)+1)
	for k, v := range t.items {
		m[k] = v
	}
	t.items, t.owned = m, true
}

func (t *Table[E]) seal() { t.owned = false }

func (t *Table[E]) putEntity(e Entity) { t.put(e.(E)) }

func (t *Table[E]) getEntity(id int64) (Entity, bool) {
	e, ok := t.items[id]
	return e, ok
}

func (t *Table[E]) eachEntity(fn func(Entity)) {
	for _, e := range t.items {
		fn(e)
	}
}

// table is the kind-independent view of a Table used by stores and Tx.
type table interface {
	putEntity(Entity)
	getEntity(id int64) (Entity, bool)
	eachEntity(fn func(Entity))
	del(id int64)
	seal()
	Len() int
}

func (e *Service) Key() int64         { return e.ID }
func (e *Metric) Key() int64          { return e.ID }
func (e *MappingRule) Key() int64     { return e.ID }
func (e *BackendAPI) Key() int64      { return e.ID }
func (e *BackendUsage) Key() int64    { return e.ID }
func (e *ApplicationPlan) Key() int64 { return e.ID }
func (e *UsageLimit) Key() int64      { return e.ID }
func (e *PricingRule) Key() int64     { return e.ID }
func (e *Proxy) Key() int64           { return e.ServiceID }
func (e *ProxyConfig) Key() int64     { return e.ID }
func (e *ActiveDoc) Key() int64       { return e.ID }
func (e *Account) Key() int64         { return e.ID }
func (e *User) Key() int64            { return e.ID }
func (e *Application) Key() int64     { return e.ID }
func (e *RegistryPolicy) Key() int64  { return e.ID }
func (e *Placement) Key() int64       { return e.ID }

func (e *Service) stamp(id int64, c, u time.Time) { e.ID, e.CreatedAt, e.UpdatedAt = id, c, u }
func (e *Metric) stamp(id int64, c, u time.Time)  { e.ID, e.CreatedAt, e.UpdatedAt = id, c, u }
func (e *MappingRule) stamp(id int64, c, u time.Time) {
	e.ID, e.CreatedAt, e.UpdatedAt = id, c, u
}
func (e *BackendAPI) stamp(id int64, c, u time.Time) { e.ID, e.CreatedAt, e.UpdatedAt = id, c, u }
func (e *BackendUsage) stamp(id int64, c, u time.Time) {
	e.ID, e.CreatedAt, e.UpdatedAt = id, c, u
}
func (e *ApplicationPlan) stamp(id int64, c, u time.Time) {
	e.ID, e.CreatedAt, e.UpdatedAt = id, c, u
}
func (e *UsageLimit) stamp(id int64, c, u time.Time)  { e.ID, e.CreatedAt, e.UpdatedAt = id, c, u }
func (e *PricingRule) stamp(id int64, c, u time.Time) { e.ID, e.CreatedAt, e.UpdatedAt = id, c, u }

// A proxy's id is its service's, so stamp keeps it.
func (e *Proxy) stamp(_ int64, c, u time.Time)        { e.CreatedAt, e.UpdatedAt = c, u }
func (e *ProxyConfig) stamp(id int64, c, u time.Time) { e.ID, e.CreatedAt, e.UpdatedAt = id, c, u }
func (e *ActiveDoc) stamp(id int64, c, u time.Time)   { e.ID, e.CreatedAt, e.UpdatedAt = id, c, u }
func (e *Account) stamp(id int64, c, u time.Time)     { e.ID, e.CreatedAt, e.UpdatedAt = id, c, u }
func (e *User) stamp(id int64, c, u time.Time)        { e.ID, e.CreatedAt, e.UpdatedAt = id, c, u }
func (e *Application) stamp(id int64, c, u time.Time) { e.ID, e.CreatedAt, e.UpdatedAt = id, c, u }
func (e *RegistryPolicy) stamp(id int64, c, u time.Time) {
	e.ID, e.CreatedAt, e.UpdatedAt = id, c, u
}
func (e *Placement) stamp(id int64, c, u time.Time) { e.ID, e.CreatedAt, e.UpdatedAt = id, c, u }
