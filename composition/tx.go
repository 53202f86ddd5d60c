package composition

import (
	"time"
)

// Change is one entity written (Entity set) or deleted (Entity nil) by a Tx.
type Change struct {
	Kind   Kind
	ID     int64
	Entity Entity
}

type changeKey struct {
	kind Kind
	id   int64
}

// Tx is a write in progress. It works on a private copy of the composition, so a
// failed write leaves nothing behind; reads through View see the Tx's own writes.
type Tx struct {
	c       *Composition
	base    *Composition
	now     time.Time
	order   []changeKey
	changes map[changeKey]Entity
}

// NewTx starts a write on top of base, which it never modifies.
func NewTx(base *Composition, now time.Time) *Tx {
	c := *base // tables are copied on their first write
	c.Seal()
	return &Tx{c: &c, base: base, now: now.UTC().Truncate(time.Second), changes: map[changeKey]Entity{}}
}

// Base returns the composition the Tx started from, unchanged: what an
// entity was before the write.
func (tx *Tx) Base() *Composition { return tx.base }

// View returns the composition as this Tx has changed it so far.
func (tx *Tx) View() *Composition { return tx.c }

// Now is the time the Tx stamps on what it writes.
func (tx *Tx) Now() time.Time { return tx.now }

// Changes returns what the Tx wrote, in order, one entry per entity.
func (tx *Tx) Changes() []Change {
	out := make([]Change, 0, len(tx.order))
	for _, k := range tx.order {
		out = append(out, Change{Kind: k.kind, ID: k.id, Entity: tx.changes[k]})
	}
	return out
}

// Result returns the composition the Tx produced, sealed, at the next revision.
// The Tx must not be used afterwards.
func (tx *Tx) Result() *Composition {
	tx.c.Revision++
	tx.c.Seal()
	return tx.c
}

func (tx *Tx) record(k Kind, id int64, e Entity) {
	key := changeKey{k, id}
	if _, seen := tx.changes[key]; !seen {
		tx.order = append(tx.order, key)
	}
	tx.changes[key] = e
}

// NextID hands out a fresh id.
func (tx *Tx) NextID() int64 {
	tx.c.LastID++
	return tx.c.LastID
}

// Create validates e, gives it an id and timestamps, and adds it with whatever
// 3scale creates alongside it (a service's hits metric and proxy).
func (tx *Tx) Create(e Entity) error {
	k := e.info()
	if err := k.prepare(tx.c, e, nil); err != nil {
		return err
	}
	id := e.Key()
	if !k.sharesID() {
		id = tx.NextID()
	}
	e.stamp(id, tx.now, tx.now)
	if err := k.validate(tx.c, e); err != nil {
		if !k.sharesID() {
			tx.c.LastID-- // keep ids dense when the write is refused
		}
		return err
	}
	tx.put(e)
	return k.afterCreate(tx, e)
}

// Update validates e against the entity it replaces and stores it. e must be a
// copy: entities of a snapshot are never modified in place.
func (tx *Tx) Update(e Entity) error {
	k := e.info()
	old, ok := k.tableIn(tx.c).getEntity(e.Key())
	if !ok {
		return NotFound(k.kind(), e.Key())
	}
	if err := k.prepare(tx.c, e, old); err != nil {
		return err
	}
	e.stamp(e.Key(), old.created(), tx.now)
	if err := k.validate(tx.c, e); err != nil {
		return err
	}
	tx.put(e)
	return k.afterUpdate(tx, e)
}

// Put stores e as it is, without validation: for stores and imports that move
// already-validated entities.
func (tx *Tx) Put(e Entity) {
	if e.Key() > tx.c.LastID {
		tx.c.LastID = e.Key()
	}
	tx.put(e)
}

func (tx *Tx) put(e Entity) {
	k := e.info()
	k.tableIn(tx.c).putEntity(e)
	tx.record(k.kind(), e.Key(), e)
}

// Delete removes an entity and, as 3scale does, what belongs to it. It refuses
// when something that must outlive it still uses it.
func (tx *Tx) Delete(k Kind, id int64) error {
	e, ok := tx.c.table(k).getEntity(id)
	if !ok {
		return NotFound(k, id)
	}
	info := e.info()
	if err := info.checkDelete(tx.c, e); err != nil {
		return err
	}
	tx.purge(e)
	return nil
}

// purge removes e and what belongs to it, without Delete's checks.
func (tx *Tx) purge(e Entity) {
	k := e.info()
	k.cascade(tx, e)
	tx.remove(k, e.Key())
}

// drop removes e, leaving what belongs to it.
func (tx *Tx) drop(e Entity) { tx.remove(e.info(), e.Key()) }

// remove deletes id from kind k's table and records the delete, even of an id
// the table does not hold.
func (tx *Tx) remove(k kindInfo, id int64) {
	k.tableIn(tx.c).del(id)
	tx.record(k.kind(), id, nil)
}
