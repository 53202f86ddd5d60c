package composition

import (
	"sort"
)

// Table is a set of entities of one kind keyed by id. Tables inside a Snapshot
// are read-only; a Tx copies a table on its first write, so a write costs one
// map copy of the kind it touches, never a copy of the whole composition.
type Table[E Entity] struct {
	items   map[int64]E
	owned   bool
	parents parentIndex[E] // table_parent.go
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
	id := e.Key()
	old, had := t.items[id]
	t.parents.put(old, had, e)
	t.items[id] = e
}

func (t *Table[E]) del(id int64) {
	t.own()
	if old, ok := t.items[id]; ok {
		t.parents.del(old)
	}
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
	t.parents.ownAll()
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
