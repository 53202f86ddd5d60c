package composition

import (
	"sort"
)

// Table is a set of entities of one kind keyed by id. Tables inside a Snapshot
// are read-only; a Tx copies a table on its first write, so a write costs one
// map copy of the kind it touches, never a copy of the whole composition.
type Table[E Entity] struct {
	items map[int64]E
	owned bool

	// parentOf, for a kind whose entities belong to a parent (a metric to
	// its owner, a limit to its plan), indexes them by the parent's id in
	// byParent, so that validating one entity reads its siblings, never the
	// whole table: building a composition stays linear. The groups are
	// copied on write like items, one group at a time (copied).
	parentOf func(E) int64
	byParent map[int64]map[int64]E
	copied   map[int64]bool
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

// Under returns the entities whose parent is the entity with id parent, in
// id order. Only a kind with a Parent hook has its table indexed so.
func (t *Table[E]) Under(parent int64) []E {
	group := t.group(parent)
	out := make([]E, 0, len(group))
	for _, e := range group {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out
}

// FindUnder returns an entity under parent match accepts; which one, when
// several do, is unspecified.
func (t *Table[E]) FindUnder(parent int64, match func(E) bool) (E, bool) {
	for _, e := range t.group(parent) {
		if match(e) {
			return e, true
		}
	}
	var zero E
	return zero, false
}

// CountUnder returns how many entities are under parent.
func (t *Table[E]) CountUnder(parent int64) int { return len(t.group(parent)) }

// group returns the entities under parent, read-only.
func (t *Table[E]) group(parent int64) map[int64]E {
	if t.parentOf == nil {
		panic("composition: a table without a parent index read by parent")
	}
	return t.byParent[parent]
}

func (t *Table[E]) put(e E) {
	t.own()
	id := e.Key()
	if t.parentOf != nil {
		parent := t.parentOf(e)
		if old, ok := t.items[id]; ok && t.parentOf(old) != parent {
			t.ungroup(t.parentOf(old), id)
		}
		t.ownGroup(parent)[id] = e
	}
	t.items[id] = e
}

func (t *Table[E]) del(id int64) {
	t.own()
	if old, ok := t.items[id]; ok && t.parentOf != nil {
		t.ungroup(t.parentOf(old), id)
	}
	delete(t.items, id)
}

// ungroup removes id from parent's group, and the group once empty.
func (t *Table[E]) ungroup(parent, id int64) {
	g := t.ownGroup(parent)
	delete(g, id)
	if len(g) == 0 {
		delete(t.byParent, parent)
	}
}

// ownGroup returns parent's group, copied (or made) for writing.
func (t *Table[E]) ownGroup(parent int64) map[int64]E {
	g := t.byParent[parent]
	if !t.copied[parent] {
		n := make(map[int64]E, len(g)+1)
		for k, v := range g {
			n[k] = v
		}
		g = n
		t.byParent[parent], t.copied[parent] = g, true
	}
	return g
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
	if t.parentOf != nil {
		groups := make(map[int64]map[int64]E, len(t.byParent)+1)
		for k, v := range t.byParent {
			groups[k] = v
		}
		t.byParent, t.copied = groups, map[int64]bool{}
	}
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
