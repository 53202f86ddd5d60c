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
	now     time.Time
	order   []changeKey
	changes map[changeKey]Entity
}

// NewTx starts a write on top of base, which it never modifies.
func NewTx(base *Composition, now time.Time) *Tx {
	c := *base // tables are copied on their first write
	c.Seal()
	return &Tx{c: &c, now: now.UTC().Truncate(time.Second), changes: map[changeKey]Entity{}}
}

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
	if err := tx.prepare(e, nil); err != nil {
		return err
	}
	id := e.Key()
	_, isProxy := e.(*Proxy) // a proxy takes its service's id, not a new one
	if !isProxy {
		id = tx.NextID()
	}
	e.stamp(id, tx.now, tx.now)
	if err := tx.validate(e, nil); err != nil {
		if !isProxy {
			tx.c.LastID-- // keep ids dense when the write is refused
		}
		return err
	}
	tx.put(e)
	return tx.afterCreate(e)
}

// Update validates e against the entity it replaces and stores it. e must be a
// copy: entities of a snapshot are never modified in place.
func (tx *Tx) Update(e Entity) error {
	k := KindOf(e)
	old, ok := tx.c.table(k).getEntity(e.Key())
	if !ok {
		return NotFound(k, e.Key())
	}
	if err := tx.prepare(e, old); err != nil {
		return err
	}
	e.stamp(e.Key(), createdAt(old), tx.now)
	if err := tx.validate(e, old); err != nil {
		return err
	}
	tx.put(e)
	return tx.afterUpdate(e, old)
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
	k := KindOf(e)
	tx.c.table(k).putEntity(e)
	tx.record(k, e.Key(), e)
}

func (tx *Tx) remove(k Kind, id int64) {
	tx.c.table(k).del(id)
	tx.record(k, id, nil)
}

// Delete removes an entity and, as 3scale does, what belongs to it. It refuses
// when something that must outlive it still uses it.
func (tx *Tx) Delete(k Kind, id int64) error {
	e, ok := tx.c.table(k).getEntity(id)
	if !ok {
		return NotFound(k, id)
	}
	if err := tx.checkDelete(e); err != nil {
		return err
	}
	tx.cascade(e)
	tx.remove(k, id)
	return nil
}

func createdAt(e Entity) time.Time {
	switch v := e.(type) {
	case *Service:
		return v.CreatedAt
	case *BackendAPI:
		return v.CreatedAt
	case *Metric:
		return v.CreatedAt
	case *MappingRule:
		return v.CreatedAt
	case *BackendUsage:
		return v.CreatedAt
	case *ApplicationPlan:
		return v.CreatedAt
	case *UsageLimit:
		return v.CreatedAt
	case *PricingRule:
		return v.CreatedAt
	case *Proxy:
		return v.CreatedAt
	case *ProxyConfig:
		return v.CreatedAt
	case *ActiveDoc:
		return v.CreatedAt
	case *Account:
		return v.CreatedAt
	case *User:
		return v.CreatedAt
	case *Application:
		return v.CreatedAt
	case *RegistryPolicy:
		return v.CreatedAt
	case *Placement:
		return v.CreatedAt
	}
	return time.Time{}
}
