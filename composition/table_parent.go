package composition

import (
	"slices"
	"sort"
)

// parentIndex groups a table's entities by the id of the entity each belongs
// to (a metric to its owner, a limit to its plan), and counts in each group
// the names 3scale holds unique among siblings (a metric's system_name), so
// that validating one entity reads its own group, or one count, never the
// whole table: building a composition stays linear. Like a table's items,
// the groups are copied on write, one group at a time.
type parentIndex[E Entity] struct {
	parentOf func(E) int64    // nil: the kind has no parent, no index
	namesOf  func(E) []string // nil: no unique names
	groups   map[int64]*group[E]
	copied   map[int64]bool // groups copied since ownAll
}

// group is the entities under one parent, and how many hold each name.
type group[E Entity] struct {
	items map[int64]E
	names map[string]int
}

// init makes the index of a kind with a Parent (and, if not nil, a Unique)
// hook.
func (x *parentIndex[E]) init(parent func(E) int64, names func(E) []string) {
	if parent == nil {
		return
	}
	x.parentOf, x.namesOf = parent, names
	x.groups, x.copied = map[int64]*group[E]{}, map[int64]bool{}
}

// Under returns the entities whose parent is the entity with id parent, in
// id order. Only the table of a kind with a Parent hook is indexed so.
func (t *Table[E]) Under(parent int64) []E {
	g := t.parents.group(parent)
	out := make([]E, 0, len(g.items))
	for _, e := range g.items {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out
}

// FindUnder returns an entity under parent match accepts; which one, when
// several do, is unspecified.
func (t *Table[E]) FindUnder(parent int64, match func(E) bool) (E, bool) {
	for _, e := range t.parents.group(parent).items {
		if match(e) {
			return e, true
		}
	}
	var zero E
	return zero, false
}

// CountUnder returns how many entities are under parent.
func (t *Table[E]) CountUnder(parent int64) int { return len(t.parents.group(parent).items) }

// takenUnder reports whether an entity other than e, under e's parent, has
// name, one of the names e's kind holds unique (its Unique hook).
func (t *Table[E]) takenUnder(e E, name string) bool {
	x := &t.parents
	if x.namesOf == nil {
		panic("composition: a table without unique names asked for one")
	}
	n := x.group(x.parentOf(e)).names[name]
	if cur, ok := t.items[e.Key()]; ok && x.parentOf(cur) == x.parentOf(e) && slices.Contains(x.namesOf(cur), name) {
		n-- // e's own stored version
	}
	return n > 0
}

// group returns the entities under parent, read-only.
func (x *parentIndex[E]) group(parent int64) *group[E] {
	if x.parentOf == nil {
		panic("composition: a table without a parent index read by parent")
	}
	if g, ok := x.groups[parent]; ok {
		return g
	}
	return &group[E]{}
}

// put indexes e, which replaces old when had.
func (x *parentIndex[E]) put(old E, had bool, e E) {
	if x.parentOf == nil {
		return
	}
	if had {
		x.del(old)
	}
	g := x.own(x.parentOf(e))
	g.items[e.Key()] = e
	if x.namesOf != nil {
		for _, name := range x.namesOf(e) {
			g.names[name]++
		}
	}
}

// del removes e from its group, and the group once empty.
func (x *parentIndex[E]) del(e E) {
	if x.parentOf == nil {
		return
	}
	parent := x.parentOf(e)
	g := x.own(parent)
	delete(g.items, e.Key())
	if x.namesOf != nil {
		for _, name := range x.namesOf(e) {
			if g.names[name]--; g.names[name] <= 0 {
				delete(g.names, name)
			}
		}
	}
	if len(g.items) == 0 {
		delete(x.groups, parent)
		delete(x.copied, parent)
	}
}

// own returns parent's group, copied (or made) for writing.
func (x *parentIndex[E]) own(parent int64) *group[E] {
	if x.copied[parent] {
		return x.groups[parent]
	}
	n := &group[E]{items: map[int64]E{}, names: map[string]int{}}
	if g, ok := x.groups[parent]; ok {
		for k, v := range g.items {
			n.items[k] = v
		}
		for k, v := range g.names {
			n.names[k] = v
		}
	}
	x.groups[parent], x.copied[parent] = n, true
	return n
}

// ownAll readies the index for a table's first write since it was shared:
// the groups' map is copied, each group will be when first written.
func (x *parentIndex[E]) ownAll() {
	if x.parentOf == nil {
		return
	}
	groups := make(map[int64]*group[E], len(x.groups)+1)
	for k, v := range x.groups {
		groups[k] = v
	}
	x.groups, x.copied = groups, map[int64]bool{}
}
