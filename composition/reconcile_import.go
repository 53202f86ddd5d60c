package composition

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
)

// ImportByName imports d by name: an apply of its entities without prune.
// Entities with natural keys that the composition already holds are updated
// where they differ and left alone where they do not; the others are
// created. An entity of a kind without keys (an access token, a webhook
// event) is taken for one the composition holds when all
// its fields but id and timestamps are equal, references compared by what
// they refer to; otherwise it is created, as Import creates it. Importing a
// document twice therefore writes nothing the second time. The first
// problem fails the whole import, naming the entity.
func ImportByName(tx *Tx, d *Document) (*ImportStats, error) {
	if err := d.checkImportIDs(); err != nil {
		return nil, err
	}
	desired, err := d.Composition() // the document's ids: Diff and the writes check it
	if err != nil {
		return nil, err
	}
	keepSecrets(tx.c, desired)
	plan, err := Diff(tx.c, desired, DiffOptions{Secrets: true})
	if err != nil {
		return nil, fmt.Errorf("import %w", err)
	}
	byKind := map[Kind][]PlannedChange{}
	for _, ch := range plan.Changes {
		byKind[ch.Kind] = append(byKind[ch.Kind], ch)
	}
	a := &applier{tx: tx, d: &differ{cur: newKeyIndex(tx.c), des: plan.desired, secrets: true}, alias: map[int64]int64{}}
	stats := &ImportStats{IDs: map[int64]int64{ProviderAccountID: ProviderAccountID}}
	if err := a.parkMovingPaths(plan.Changes); err != nil {
		return nil, fmt.Errorf("import %w", err)
	}
	// Kind by kind, so an account finds the account plan just imported.
	for _, k := range kinds {
		for _, ch := range byKind[k.kind()] {
			wrote, err := a.write(ch)
			if err != nil {
				return nil, fmt.Errorf("import %w", err)
			}
			// A create counts even when the parent made the entity.
			if wrote || ch.Op == OpCreate {
				stats.Entities++
			}
		}
		n, err := a.importUnkeyed(k, d)
		if err != nil {
			return nil, err
		}
		stats.Entities += n
	}
	for key, ck := range plan.desired.ids {
		if cur, ok := a.d.cur.ids[key]; ok && cur.kind == ck.kind && !mustKind(ck.kind).sharesID() {
			stats.IDs[ck.id] = cur.id
		}
	}
	for from, to := range a.alias {
		stats.IDs[from] = to
	}
	return stats, nil
}

// importUnkeyed imports d's entities of kind k that have no natural key (a
// kind without, a custom plan): each is matched by content or created as
// Import creates it. It returns how many it created.
func (a *applier) importUnkeyed(k kindInfo, d *Document) (int, error) {
	unkeyed := func(x *keyIndex) func(Entity) bool {
		return func(e Entity) bool {
			_, keyed := x.keys[changeKey{k.kind(), e.Key()}]
			return !keyed
		}
	}
	// The exporting home's own state (its webhook outbox) is left behind,
	// as Import leaves it (importCarries).
	es := slices.DeleteFunc(k.inDocument(d), func(e Entity) bool { return !unkeyed(a.d.des)(e) || !importCarries(e) })
	if len(es) == 0 {
		return 0, nil
	}
	held := map[string]int64{}
	for _, e := range sortedEntities(k.tableIn(a.tx.c)) {
		if !unkeyed(a.d.cur)(e) {
			continue
		}
		c := a.content(k, e, false)
		if _, dup := held[c]; !dup {
			held[c] = e.Key()
		}
	}
	k.sortForImport(es)
	created := 0
	for _, orig := range es {
		if id, ok := held[a.content(k, orig, true)]; ok {
			a.alias[orig.Key()] = id
			continue
		}
		e, err := a.mapped(k, orig)
		if err != nil {
			return 0, fmt.Errorf("import %s %d: %w", k.kind(), orig.Key(), err)
		}
		id := a.tx.NextID()
		e.stamp(id, a.tx.now, a.tx.now)
		if err := k.prepare(a.tx.c, e, nil); err != nil {
			return 0, fmt.Errorf("import %s %d: %w", k.kind(), orig.Key(), err)
		}
		if err := k.validate(a.tx.c, e); err != nil {
			return 0, fmt.Errorf("import %s %d: %w", k.kind(), orig.Key(), err)
		}
		a.tx.put(e)
		a.alias[orig.Key()] = id
		created++
	}
	return created, nil
}

// content is an entity of a kind without keys as ImportByName matches it:
// its JSON fields but id, timestamps and secrets, references by the key they refer to or, for an entity without one,
// by its id in the Tx's composition. desired says e is the document's.
func (a *applier) content(k kindInfo, e Entity, desired bool) string {
	x := a.d.cur
	if desired {
		x = a.d.des
	}
	n := k.shallowCopy(e)
	k.importRefs(n, func(field string, id int64) int64 {
		if id == 0 {
			return 0
		}
		key, err := x.ref(field, id)
		switch {
		case errors.Is(err, errUnmanaged) && desired:
			to, ok := a.alias[id]
			if !ok {
				return -1 // not imported yet: matches nothing held
			}
			key = "#" + strconv.FormatInt(to, 10)
		case errors.Is(err, errUnmanaged):
			key = "#" + strconv.FormatInt(id, 10)
		case err != nil:
			return -1
		}
		return a.d.internKey(key)
	})
	k.hideSecrets(n) // a token is the same token whether exported with its digest or not
	fields := jsonFields(n)
	delete(fields, "id")
	delete(fields, "created_at")
	delete(fields, "updated_at")
	b, err := json.Marshal(fields)
	if err != nil {
		panic(fmt.Sprintf("composition: marshal %T: %v", e, err))
	}
	return string(b)
}

// keepSecrets gives the entities of desired that current holds by key the
// credentials current has where desired has none (a document exported
// without secrets: a field empty, or as current's would be exported, such
// as an issuer URL without its credentials), so an import compares and
// writes the secrets a document gives, and only those; a new entity
// without them gets new ones.
func keepSecrets(current, desired *Composition) {
	cur, des := newKeyIndex(current), newKeyIndex(desired)
	for key, ck := range des.ids {
		k := mustKind(ck.kind)
		if !k.hasSecrets() {
			continue
		}
		old, ok, err := cur.entityOf(ck.kind, key)
		if err != nil || !ok {
			continue // a key of another kind: Diff refuses it
		}
		e, _ := des.entity(key)
		hidden := k.shallowCopy(old)
		k.hideSecrets(hidden)
		have, without, want := jsonFields(old), jsonFields(hidden), jsonFields(e)
		filled := false
		for f, v := range have {
			if !bytes.Equal(v, without[f]) && (emptyJSON(want[f]) || bytes.Equal(want[f], without[f])) {
				want[f], filled = v, true
			}
		}
		if !filled {
			continue
		}
		b, err := json.Marshal(want)
		if err != nil {
			panic(fmt.Sprintf("composition: marshal %T: %v", e, err))
		}
		n, err := k.decode(b)
		if err != nil {
			panic(fmt.Sprintf("composition: decode %T: %v", e, err))
		}
		k.tableIn(desired).putEntity(n)
	}
}

// emptyJSON reports whether v is an empty value or absent.
func emptyJSON(v json.RawMessage) bool {
	switch string(v) {
	case "", "null", `""`, "[]", "{}":
		return true
	}
	return false
}
