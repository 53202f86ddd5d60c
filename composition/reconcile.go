package composition

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Reconciling makes a composition what a desired one says, comparing them by
// natural keys (reconcile_keys.go), never by ids: the desired composition,
// built from documents, has ids of its own that mean nothing outside it.
// Diff computes the plan; Tx.Apply (or Reconcile, both at once) writes it
// through the Tx's own Create, Update and Delete, so validation and cascades
// apply and a Store.Update around it makes one revision, or none when the
// plan is empty.

// Op is what a plan does to one entity.
type Op string

// The operations of a plan.
const (
	OpCreate Op = "create"
	OpUpdate Op = "update"
	OpDelete Op = "delete"
)

// FieldChange is one field an update changes, with its JSON values; a
// reference shows the referenced entity's key.
type FieldChange struct {
	Field string          `json:"field"`
	Old   json.RawMessage `json:"old"`
	New   json.RawMessage `json:"new"`
}

// PlannedChange is one entity a plan creates, updates (Fields) or deletes.
type PlannedChange struct {
	Kind   Kind          `json:"kind"`
	Key    string        `json:"key"`
	Op     Op            `json:"op"`
	Fields []FieldChange `json:"fields,omitempty"`

	desired Entity // the desired entity, nil for a delete
}

// Plan is what reconciling a composition with a desired one changes, in the
// order Apply writes it: deletes first, children before parents (kinds in
// reverse, keys in order), then creates and updates, parents before children
// (kinds in order, each in the desired composition's order).
type Plan struct {
	Changes []PlannedChange `json:"changes"`

	desired *keyIndex
	opts    DiffOptions
}

// Empty reports whether the plan changes nothing.
func (p *Plan) Empty() bool { return len(p.Changes) == 0 }

// DiffOptions tunes Diff.
type DiffOptions struct {
	// Prune deletes the current entities the desired composition lacks, but
	// only those owned: below one of Owners, or accepted by Owned. Without
	// either, the owners are the desired composition's services and backend
	// APIs, those it only refers to included: a caller whose desired
	// composition carries entities it does not own (manifest.Desired
	// copies the services its documents refer to) passes Owners. Nothing
	// else is ever deleted.
	Prune  bool
	Owners []string
	Owned  func(key string) bool
	// Unpruned are kinds Prune never deletes, owned or not: those the
	// desired composition cannot declare (an image's documents hold no
	// placements, which home's operators make), so lacking them says
	// nothing.
	Unpruned []Kind
	// Secrets says the desired composition carries credentials (proxy
	// secret tokens, application keys, passwords). Without it they are
	// neither compared nor written, and a create lets the composition make
	// new ones, as an import of a document without secrets does.
	Secrets bool
}

// Diff compares current with desired and returns the plan that makes current
// what desired says. An entity of desired whose references do not resolve is
// an error naming it and the field.
//
// desired should be a composition as Tx.Create makes it: defaults filled,
// and a service's hits metric and proxy there, so build it through a Tx on
// New(). A field desired leaves empty where a create fills a default would
// otherwise differ on every diff. Entities of kinds without natural keys in
// desired are ignored (ImportByName imports them).
func Diff(current, desired *Composition, opts DiffOptions) (*Plan, error) {
	des := newKeyIndex(desired)
	if err := des.firstFailure(); err != nil {
		return nil, err
	}
	cur := newKeyIndex(current)
	p := &Plan{desired: des, opts: opts}
	d := &differ{cur: cur, des: des, secrets: opts.Secrets}
	if opts.Prune {
		p.Changes = append(p.Changes, prunes(cur, des, opts)...)
	}
	for _, k := range kinds {
		if !k.managed() {
			continue
		}
		for _, e := range desiredInOrder(k, des) {
			key := des.keys[changeKey{k.kind(), e.Key()}]
			old, ok, err := cur.entityOf(k.kind(), key)
			if err != nil {
				return nil, err
			}
			if !ok {
				p.Changes = append(p.Changes, PlannedChange{Kind: k.kind(), Key: key, Op: OpCreate, desired: e})
				continue
			}
			if fields := d.compare(k, old, e); len(fields) > 0 {
				p.Changes = append(p.Changes, PlannedChange{Kind: k.kind(), Key: key, Op: OpUpdate, Fields: fields, desired: e})
			}
		}
	}
	return p, nil
}

// firstFailure returns the error of the first entity, in kind and id order,
// whose key could not be made.
func (x *keyIndex) firstFailure() error {
	var first changeKey
	var err error
	for ck, e := range x.failed {
		if err == nil || kindIndex(ck.kind) < kindIndex(first.kind) || (ck.kind == first.kind && ck.id < first.id) {
			first, err = ck, e
		}
	}
	if err != nil {
		return fmt.Errorf("%s %d: %w", first.kind, first.id, err)
	}
	return nil
}

func kindIndex(k Kind) int {
	return slices.IndexFunc(kinds, func(i kindInfo) bool { return i.kind() == k })
}

// desiredInOrder returns desired's managed entities of kind k in its id
// order (a document's order, which creates keep), then as an import orders
// them (a method after its metric).
func desiredInOrder(k kindInfo, des *keyIndex) []Entity {
	var out []Entity
	for _, e := range sortedEntities(k.tableIn(des.c)) {
		if _, ok := des.keys[changeKey{k.kind(), e.Key()}]; ok {
			out = append(out, e)
		}
	}
	k.sortForImport(out)
	return out
}

// prunes returns the deletes of owned current entities desired lacks,
// children before parents. An entity created with its parent (a proxy) is
// never deleted alone.
func prunes(cur, des *keyIndex, opts DiffOptions) []PlannedChange {
	owners := map[string]bool{}
	for _, o := range opts.Owners {
		owners[o] = true
	}
	if len(opts.Owners) == 0 && opts.Owned == nil {
		for key, ck := range des.ids {
			if ck.kind == KindService || ck.kind == KindBackendAPI {
				owners[key] = true
			}
		}
	}
	owned := func(key string) bool {
		if opts.Owned != nil {
			return opts.Owned(key)
		}
		return cur.under(key, owners)
	}
	var out []PlannedChange
	for key, ck := range cur.ids {
		if _, keep := des.ids[key]; keep || mustKind(ck.kind).sharesID() || slices.Contains(opts.Unpruned, ck.kind) || !owned(key) {
			continue
		}
		out = append(out, PlannedChange{Kind: ck.kind, Key: key, Op: OpDelete})
	}
	slices.SortFunc(out, func(a, b PlannedChange) int {
		return cmp.Or(cmp.Compare(kindIndex(b.Kind), kindIndex(a.Kind)), strings.Compare(a.Key, b.Key))
	})
	return out
}

// differ compares entities of two compositions field by field, references
// by the keys they refer to.
type differ struct {
	cur, des *keyIndex
	secrets  bool
	intern   map[string]int64
}

// canonical is an entity as reconciling compares it: its JSON, but ids and
// timestamps, with references replaced by numbers standing for the
// referenced keys; field by field (fields), derived fields are left out too.
type canonical struct {
	raw    []byte
	fields map[string]json.RawMessage
	refs   map[string][]string // field → the keys it refers to
	// skip holds the fields that refer to an entity reconciling leaves
	// alone: neither compared nor written. A list (a feature's plan_ids)
	// is not skipped for it: such ids are left out of its comparison, and
	// kept when it is written (applier.keepUnmanaged).
	skip map[string]bool
}

// internKey returns the number standing for key in the canonical forms.
func (d *differ) internKey(key string) int64 {
	if d.intern == nil {
		d.intern = map[string]int64{}
	}
	i, ok := d.intern[key]
	if !ok {
		i = int64(len(d.intern) + 1)
		d.intern[key] = i
	}
	return i
}

func (d *differ) canon(k kindInfo, e Entity, x *keyIndex) *canonical {
	c := &canonical{}
	n := k.shallowCopy(e)
	var unmanaged []string
	k.importRefs(n, func(field string, id int64) int64 {
		if id == 0 {
			return 0
		}
		key, err := x.ref(field, id)
		if errors.Is(err, errUnmanaged) {
			unmanaged = append(unmanaged, field)
			return 0 // dropped from a list; a field of one is skipped below
		}
		if err != nil {
			c.skipField(field)
			return 0
		}
		if c.refs == nil {
			c.refs = map[string][]string{}
		}
		c.refs[field] = append(c.refs[field], key)
		return d.internKey(key)
	})
	if !d.secrets {
		k.hideSecrets(n)
	}
	n.stamp(0, time.Time{}, time.Time{})
	var err error
	if c.raw, err = json.Marshal(n); err != nil {
		panic(fmt.Sprintf("composition: marshal %T: %v", e, err))
	}
	if values := k.byValue(n); len(values) > 0 {
		c.raw = withValues(c.raw, values)
	}
	if len(unmanaged) > 0 {
		fields := jsonFields(e)
		for _, f := range unmanaged {
			if !isList(fields[f]) {
				c.skipField(f)
			}
		}
	}
	return c
}

func (c *canonical) skipField(field string) {
	if c.skip == nil {
		c.skip = map[string]bool{}
	}
	c.skip[field] = true
}

// isList reports whether a JSON value is an array.
func isList(v json.RawMessage) bool { return len(v) > 0 && v[0] == '[' }

// withValues returns the JSON object raw with the fields of values in place
// of its own, keys sorted: the canonical form of an entity with fields
// compared by value. Only entities that have such values pay for it.
func withValues(raw []byte, values map[string]any) []byte {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		panic(fmt.Sprintf("composition: unmarshal canonical form: %v", err))
	}
	for f, v := range values {
		b, err := json.Marshal(v)
		if err != nil {
			panic(fmt.Sprintf("composition: marshal %s: %v", f, err))
		}
		fields[f] = b
	}
	out, err := json.Marshal(fields)
	if err != nil {
		panic(fmt.Sprintf("composition: marshal canonical form: %v", err))
	}
	return out
}

// split fills c.fields, leaving out what is never compared.
func (c *canonical) split(k kindInfo) {
	if err := json.Unmarshal(c.raw, &c.fields); err != nil {
		panic(fmt.Sprintf("composition: unmarshal %s: %v", k.kind(), err))
	}
	for _, f := range append([]string{"id", "created_at", "updated_at"}, k.derived()...) {
		delete(c.fields, f)
	}
}

// jsonFields returns e's JSON fields.
func jsonFields(e Entity) map[string]json.RawMessage {
	b, err := json.Marshal(e)
	if err != nil {
		panic(fmt.Sprintf("composition: marshal %T: %v", e, err))
	}
	var out map[string]json.RawMessage
	if err := json.Unmarshal(b, &out); err != nil {
		panic(fmt.Sprintf("composition: unmarshal %T: %v", e, err))
	}
	return out
}

// compare returns the fields in which des differs from old, by name.
func (d *differ) compare(k kindInfo, old, des Entity) []FieldChange {
	a, b := d.canon(k, old, d.cur), d.canon(k, des, d.des)
	if bytes.Equal(a.raw, b.raw) {
		return nil // the common case, without splitting fields
	}
	a.split(k)
	b.split(k)
	var out []FieldChange
	seen := map[string]bool{}
	for _, fields := range []map[string]json.RawMessage{b.fields, a.fields} {
		for f := range fields {
			if seen[f] {
				continue
			}
			seen[f] = true
			ov, nv := a.fields[f], b.fields[f] // an omitted field is its zero
			if a.skip[f] || b.skip[f] || bytes.Equal(ov, nv) {
				continue
			}
			out = append(out, FieldChange{Field: f, Old: a.show(f, ov), New: b.show(f, nv)})
		}
	}
	slices.SortFunc(out, func(x, y FieldChange) int { return strings.Compare(x.Field, y.Field) })
	return out
}

// show returns a field's value as a plan shows it: a reference as the key
// (or keys) it refers to.
func (c *canonical) show(field string, v json.RawMessage) json.RawMessage {
	keys, ok := c.refs[field]
	if !ok {
		if v == nil {
			return json.RawMessage("null")
		}
		return v
	}
	var out any = keys
	if len(v) > 0 && v[0] != '[' {
		out = keys[0]
	}
	b, _ := json.Marshal(out)
	return b
}
