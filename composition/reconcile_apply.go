package composition

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Reconcile makes the composition of tx what desired says (Diff, then
// Apply) and returns the plan it wrote. Run inside Store.Update it makes one
// revision, or none when desired already holds.
func Reconcile(tx *Tx, desired *Composition, opts DiffOptions) (*Plan, error) {
	p, err := Diff(tx.View(), desired, opts)
	if err != nil {
		return nil, err
	}
	if err := tx.Apply(p); err != nil {
		return nil, err
	}
	return p, nil
}

// Apply writes plan p through the Tx's own Create, Update and Delete, so
// validation and cascades apply: references are remapped from the desired
// composition's ids to this one's through their keys, creates get new ids.
// Each write is compared again with what the Tx holds by then, so an entity
// a create made alongside its parent (a service's hits metric and proxy) is
// updated, and an unchanged one is never written. An error names the entity
// by its key and, where it can, the field; the Tx must then be dropped.
func (tx *Tx) Apply(p *Plan) error {
	if p.Empty() {
		return nil
	}
	if err := tx.applyDeletes(p); err != nil {
		return err
	}
	a := &applier{tx: tx, d: &differ{cur: newKeyIndex(tx.c), des: p.desired, secrets: p.opts.Secrets}}
	if err := a.parkMovingPaths(p.Changes); err != nil {
		return err
	}
	for _, ch := range p.Changes {
		if ch.Op == OpDelete {
			continue
		}
		if _, err := a.write(ch); err != nil {
			return err
		}
	}
	return nil
}

// applyDeletes deletes children before parents; one whose ancestor goes too
// is left to the ancestor's cascade (a hits metric cannot go alone).
func (tx *Tx) applyDeletes(p *Plan) error {
	deleted := map[string]bool{}
	for _, ch := range p.Changes {
		if ch.Op == OpDelete {
			deleted[ch.Key] = true
		}
	}
	if len(deleted) == 0 {
		return nil
	}
	cur := newKeyIndex(tx.c)
	for _, ch := range p.Changes {
		ck, ok := cur.ids[ch.Key]
		if ch.Op != OpDelete || !ok || cur.under(cur.parent[ch.Key], deleted) {
			continue
		}
		if _, ok := tx.c.table(ck.kind).getEntity(ck.id); !ok {
			continue // a cascade took it
		}
		if err := tx.Delete(ck.kind, ck.id); err != nil {
			return fmt.Errorf("delete %s %s: %w", ch.Kind, ch.Key, err)
		}
	}
	return nil
}

// movingPath is where parkMovingPaths puts a backend usage that moves: no
// path is there (a path starts with "/" and holds no "#").
const movingPath = "#moving"

// parkMovingPaths takes each backend usage that changes lists as moving to
// another path off its current one before anything is written. A path is
// unique within its product (porta's uniqueness) in what the write leaves,
// not at each step of it: backends that trade paths, or a new one taking
// the path another leaves, are then written in any order, and each write
// still checks its path against every usage that stays where it is.
func (a *applier) parkMovingPaths(changes []PlannedChange) error {
	for _, ch := range changes {
		if ch.Kind != KindBackendUsage || ch.Op != OpUpdate ||
			!slices.ContainsFunc(ch.Fields, func(f FieldChange) bool { return f.Field == "path" }) {
			continue
		}
		e, ok, err := a.d.cur.entityOf(ch.Kind, ch.Key)
		if err != nil {
			return err
		}
		if !ok {
			continue // the write reports it
		}
		u := *e.(*BackendUsage)
		u.Path = movingPath
		a.tx.put(&u)
	}
	return nil
}

// applier writes the creates and updates of a plan, keeping the key index of
// the Tx's composition current as creates add entities.
type applier struct {
	tx *Tx
	d  *differ // d.cur indexes tx's composition
	// alias maps ids of the desired composition's entities without keys to
	// the Tx's (ImportByName matches them); nil in a plain Apply.
	alias map[int64]int64
}

// write creates or updates one entity of the plan, reporting whether it
// wrote anything; an error names the entity by key.
func (a *applier) write(ch PlannedChange) (bool, error) {
	wrote, err := a.writeChange(ch)
	if err != nil {
		return false, fmt.Errorf("%s %s %s: %w", ch.Op, ch.Kind, ch.Key, err)
	}
	return wrote, nil
}

func (a *applier) writeChange(ch PlannedChange) (bool, error) {
	k := mustKind(ch.Kind)
	old, ok, err := a.d.cur.entityOf(ch.Kind, ch.Key)
	if err != nil {
		return false, err
	}
	if ok {
		fields := a.d.compare(k, old, ch.desired)
		if len(fields) == 0 {
			return false, nil
		}
		return true, a.update(k, old, ch.desired, fields)
	}
	if k.sharesID() {
		return false, errors.New("its parent did not make it")
	}
	e, err := a.mapped(k, ch.desired)
	if err != nil {
		return false, err
	}
	if !a.d.secrets {
		k.hideSecrets(e) // the composition makes its own
	}
	e.stamp(0, time.Time{}, time.Time{})
	k.adopt(a.tx, e, nil) // the desired composition's ids mean nothing here
	mark := len(a.tx.order)
	if err := a.tx.Create(e); err != nil {
		return false, err
	}
	a.sync(mark)
	return true, nil
}

// update writes the changed fields of desired over old.
func (a *applier) update(k kindInfo, old, desired Entity, fields []FieldChange) error {
	want, err := a.mapped(k, desired)
	if err != nil {
		return err
	}
	out, in := jsonFields(old), jsonFields(want)
	if err := a.keepUnmanaged(k, old, in, fields); err != nil {
		return err
	}
	for _, f := range fields {
		if v, ok := in[f.Field]; ok {
			out[f.Field] = v
		} else {
			delete(out, f.Field) // omitted: its zero
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	e, err := k.decode(b)
	if err != nil {
		return err
	}
	k.adopt(a.tx, e, old)
	out = jsonFields(e) // what is written, by-value fields adopted
	mark := len(a.tx.order)
	if _, before := k.tableIn(a.tx.base).getEntity(old.Key()); !before {
		// Made alongside its parent by this Tx (a new service's proxy): the
		// desired fields complete its create, as an import writes it,
		// rather than updating it (a proxy's lock version stays).
		if err := k.validate(a.tx.c, e); err != nil {
			return err
		}
		a.tx.put(e)
		return nil
	}
	if err := a.tx.Update(e); err != nil {
		return err
	}
	if err := a.restoreKept(k, e, out, fields); err != nil {
		return err
	}
	a.sync(mark)
	return nil
}

// keepUnmanaged adds to the lists among fields (a feature's plan_ids) the
// ids of old's that refer to entities reconciling leaves alone (a custom
// plan): the desired composition cannot name them, and Diff left them out
// of the comparison, so writing the list must not drop them.
func (a *applier) keepUnmanaged(k kindInfo, old Entity, in map[string]json.RawMessage, fields []FieldChange) error {
	kept := map[string][]int64{}
	k.importRefs(k.shallowCopy(old), func(field string, id int64) int64 {
		if id == 0 {
			return 0
		}
		if _, err := a.d.cur.ref(field, id); errors.Is(err, errUnmanaged) {
			kept[field] = append(kept[field], id)
		}
		return id
	})
	for _, f := range fields {
		ids, ok := kept[f.Field]
		if !ok || (in[f.Field] != nil && !isList(in[f.Field])) {
			continue
		}
		var list []int64
		if in[f.Field] != nil {
			if err := json.Unmarshal(in[f.Field], &list); err != nil {
				return fmt.Errorf("%s: %w", f.Field, err)
			}
		}
		for _, id := range ids {
			if !slices.Contains(list, id) {
				list = append(list, id)
			}
		}
		b, err := json.Marshal(list)
		if err != nil {
			return fmt.Errorf("%s: %w", f.Field, err)
		}
		in[f.Field] = b
	}
	return nil
}

// restoreKept writes the fields an update's Keep took back (a feature's
// plans, which the API changes only by enabling and disabling): a document
// sets them, so they are written, once validated, over the updated e.
func (a *applier) restoreKept(k kindInfo, e Entity, want map[string]json.RawMessage, fields []FieldChange) error {
	got := jsonFields(e)
	kept := false
	for _, f := range fields {
		if !bytes.Equal(got[f.Field], want[f.Field]) {
			got[f.Field], kept = want[f.Field], true
			if want[f.Field] == nil {
				delete(got, f.Field)
			}
		}
	}
	if !kept {
		return nil
	}
	b, err := json.Marshal(got)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	n, err := k.decode(b)
	if err != nil {
		return err
	}
	if err := k.validate(a.tx.c, n); err != nil {
		return err
	}
	a.tx.put(n)
	return nil
}

// mapped returns a copy of a desired entity whose references are to the
// ids of the Tx's composition; one to an entity reconciling leaves alone
// (a service plan) takes its alias, or is cleared, so the composition's
// default applies.
func (a *applier) mapped(k kindInfo, desired Entity) (Entity, error) {
	var err error
	e := cloneEntity(desired)
	k.importRefs(e, func(field string, id int64) int64 {
		if id == 0 || err != nil {
			return 0
		}
		key, rerr := a.d.des.ref(field, id)
		if errors.Is(rerr, errUnmanaged) {
			return a.alias[id]
		}
		if rerr != nil {
			err = rerr
			return 0
		}
		if key == ProviderKey {
			return ProviderAccountID
		}
		ck, ok := a.d.cur.ids[key]
		if !ok {
			err = Invalid(field, fmt.Sprintf("refers to %s, which is not in the composition", key))
			return 0
		}
		if want := a.d.des.ids[key].kind; ck.kind != want {
			err = Invalid(field, fmt.Sprintf("refers to %s, a %s, but that key names %s %d here", key, want, ck.kind, ck.id))
			return 0
		}
		return ck.id
	})
	return e, err
}

// sync indexes what the Tx wrote since mark for the first time: what a
// create made, with what it made alongside.
func (a *applier) sync(mark int) {
	for _, ck := range a.tx.order[mark:] {
		e, ok := a.tx.c.table(ck.kind).getEntity(ck.id)
		if !ok {
			a.d.cur.forget(ck)
			continue
		}
		if _, known := a.d.cur.keys[ck]; !known {
			a.d.cur.add(mustKind(ck.kind), e)
		}
	}
}
