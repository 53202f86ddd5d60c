package composition

import (
	"encoding/json"
	"fmt"
	"slices"
)

// kinds is every kind's descriptor, in dependency order: an entity only refers
// to kinds listed before it, so loading or importing in this order never
// dangles.
//
// Adding a kind: its type in model.go, its Kind and Table in composition.go,
// its list in Document, its Entity methods in entity.go, a file
// kind_<name>.go with its kindDef and hooks, and its line here.
// TestEveryKindHasItsTableAndList holds them together.
var kinds = []kindInfo{
	serviceDef, backendAPIDef, metricDef, mappingRuleDef, backendUsageDef,
	applicationPlanDef, usageLimitDef, pricingRuleDef, proxyDef, proxyConfigDef,
	accountPlanDef, // before accounts: an account is on an account plan
	activeDocDef, accountDef, userDef, applicationDef, registryPolicyDef, placementDef,
	accessTokenDef, settingsDef, servicePlanDef, serviceContractDef,
	featureDef, // after every plan kind: plans enable features
	fieldsDefinitionDef, notificationPreferencesDef,
	webHookDef, webHookEventDef, webHookFailureDef,
	authenticationProviderDef, messageDef,
}

// Kinds lists every kind in dependency order.
var Kinds = func() []Kind {
	out := make([]Kind, len(kinds))
	for i, k := range kinds {
		out[i] = k.kind()
	}
	return out
}()

var kindsByName = func() map[Kind]kindInfo {
	out := make(map[Kind]kindInfo, len(kinds))
	for _, k := range kinds {
		out[k.kind()] = k
	}
	return out
}()

// lookupKind returns the descriptor of kind k.
func lookupKind(k Kind) (kindInfo, bool) {
	info, ok := kindsByName[k]
	return info, ok
}

func mustKind(k Kind) kindInfo {
	info, ok := kindsByName[k]
	if !ok {
		panic(fmt.Sprintf("composition: unknown kind %q", k))
	}
	return info
}

// entity constrains a kind's entity type E to a pointer to its struct T, so
// a descriptor can make and copy entities.
type entity[T any] interface {
	*T
	Entity
}

// kindDef describes one kind of entity: where its entities live and everything
// 3scale does differently for it. Each kind's file declares one; a nil hook
// does nothing. Hooks reach other entities through their tables and remove
// them with Tx.drop, Tx.purge or Tx.remove; they never call Tx.Delete or look
// a kind up by name, which would make a descriptor depend on kinds: an
// initialization cycle.
type kindDef[T any, E entity[T]] struct {
	Kind     Kind
	Table    func(*Composition) *Table[E]
	Document func(*Document) *[]E
	// SharesID marks an entity keyed by another entity's id (a proxy by its
	// service's): it is never handed an id of its own.
	SharesID bool
	// Parent returns the id of the entity e belongs to (a metric's owner, a
	// limit's plan), by which its table indexes it (Table.Under): what
	// validation compares e with is found without a scan of the table.
	Parent func(e E) int64
	// Unique returns the names 3scale holds unique among the entities of
	// one Parent (a metric's system_name; a user's username and email, of
	// one group, the table), each told apart by a prefix where there are
	// several; an empty value is left out. The table counts them, so that
	// Table.takenUnder checks one in constant time.
	Unique func(e E) []string

	// Keep carries over, on update, what the update may not change from the
	// entity e replaces. It runs first.
	Keep func(e, old E)
	// Prepare fills the defaults 3scale fills; old is the entity e replaces,
	// nil on create.
	Prepare func(c *Composition, e, old E) error
	// Validate checks e with 3scale's rules, adding every problem to v; it
	// returns an error only for one that makes the others moot (a missing
	// parent).
	Validate func(c *Composition, e E, v *ValidationError) error
	// AfterCreate and AfterUpdate write what 3scale writes alongside e.
	AfterCreate func(tx *Tx, e E) error
	AfterUpdate func(tx *Tx, e E) error
	// CheckDelete refuses the deletes 3scale refuses.
	CheckDelete func(c *Composition, e E) error
	// Cascade removes (or detaches) what belongs to e, as 3scale does, before
	// e itself goes.
	Cascade func(tx *Tx, e E)

	// Import rewrites the references of a copy of a document's entity to the
	// ids the import gives, through ref, and fills what an export without
	// secrets left out. It assigns fields, never writing into a slice it
	// did not make: reconciling runs it (and HideSecrets) on shallow copies.
	Import func(e E, ref refFunc)
	// ImportOrder, when set, orders a kind's entities for import (a stable
	// sort): one that validates against another of its kind comes after it.
	ImportOrder func(a, b E) int
	// HideSecrets clears the credentials an export without secrets leaves out.
	HideSecrets func(e E)

	// NaturalKey names e by what a document names it by, never by ids
	// (reconcile_keys.go): its key and its parent's ("" for a root). A kind
	// without one is left out of reconciling; errUnmanaged leaves out one
	// entity (a custom plan).
	NaturalKey func(x *keyIndex, e E) (key, parent string, err error)
	// Derived lists the JSON fields of e that reconciling neither compares
	// nor writes: state the composition derives or moves through its own
	// events. Ids and timestamps are never compared.
	Derived []string
	// ByValue returns what reconciling compares and shows, field by field,
	// for the fields of e it manages by value rather than as stored: a set
	// of values each with an id and timestamps of its own (an application's
	// referrer filters). nil when there is none to show.
	ByValue func(e E) map[string]any
	// Adopt readies e, which reconciling is about to write over old (nil on
	// create), for those fields: values old holds keep their ids and
	// timestamps, new ones get new ids (tx.NextID). It assigns fields, never
	// writing into a slice it did not make.
	Adopt func(tx *Tx, e, old E)
}

// refFunc maps an id a document refers to in field to the id the import gives
// the entity.
type refFunc = func(field string, old int64) int64

// refList rewrites a list of references through ref, leaving out those it
// maps to 0: an entity a reconcile leaves alone (a service plan).
func refList(ids []int64, field string, ref refFunc) []int64 {
	out := make([]int64, 0, len(ids))
	for _, id := range ids {
		if n := ref(field, id); n != 0 {
			out = append(out, n)
		}
	}
	return out
}

// kindInfo is a kindDef seen without its type parameters: what the
// composition, Tx and Document use.
type kindInfo interface {
	kind() Kind
	sharesID() bool
	tableIn(c *Composition) table
	initTable(c *Composition)
	decode(data []byte) (Entity, error)
	inDocument(d *Document) []Entity
	// listInDocument is the kind's list in d as written: nil for a null
	// entry, which inDocument skips (document.go).
	listInDocument(d *Document) []Entity
	export(c *Composition, d *Document, secrets bool)

	prepare(c *Composition, e, old Entity) error
	validate(c *Composition, e Entity) error
	afterCreate(tx *Tx, e Entity) error
	afterUpdate(tx *Tx, e Entity) error
	checkDelete(c *Composition, e Entity) error
	cascade(tx *Tx, e Entity)
	importRefs(e Entity, ref refFunc)
	sortForImport(es []Entity)
	hideSecrets(e Entity)
	hasSecrets() bool
	shallowCopy(e Entity) Entity
	managed() bool
	naturalKey(x *keyIndex, e Entity) (key, parent string, err error)
	derived() []string
	byValue(e Entity) map[string]any
	adopt(tx *Tx, e, old Entity)
}

func (d *kindDef[T, E]) kind() Kind                   { return d.Kind }
func (d *kindDef[T, E]) sharesID() bool               { return d.SharesID }
func (d *kindDef[T, E]) tableIn(c *Composition) table { return d.Table(c) }
func (d *kindDef[T, E]) initTable(c *Composition) {
	t := d.Table(c)
	t.items = map[int64]E{}
	t.parents.init(d.Parent, d.Unique)
}

func (d *kindDef[T, E]) decode(data []byte) (Entity, error) {
	e := E(new(T))
	if err := json.Unmarshal(data, e); err != nil {
		return nil, fmt.Errorf("decode %s entity: %w", d.Kind, err)
	}
	return e, nil
}

// inDocument returns the kind's entities in d, skipping null entries.
func (d *kindDef[T, E]) inDocument(doc *Document) []Entity {
	in := *d.Document(doc)
	out := make([]Entity, 0, len(in))
	for _, e := range in {
		if (*T)(e) != nil {
			out = append(out, e)
		}
	}
	return out
}

// export sets the kind's list in doc to shallow copies of c's entities, in id
// order; slices in entities are never modified in place, so sharing them is
// safe.
func (d *kindDef[T, E]) export(c *Composition, doc *Document, secrets bool) {
	all := d.Table(c).All()
	out := make([]E, len(all))
	for i, e := range all {
		n := new(T)
		*n = *(*T)(e)
		out[i] = n
		if !secrets && d.HideSecrets != nil {
			d.HideSecrets(n)
		}
	}
	*d.Document(doc) = out
}

// as converts an entity of this kind, or nil, to E.
func as[E Entity](e Entity) E {
	if e == nil {
		var zero E
		return zero
	}
	return e.(E)
}

// prepare runs Keep (on update) and Prepare.
func (d *kindDef[T, E]) prepare(c *Composition, e, old Entity) error {
	o := as[E](old)
	if old != nil && d.Keep != nil {
		d.Keep(e.(E), o)
	}
	if d.Prepare == nil {
		return nil
	}
	return d.Prepare(c, e.(E), o)
}

func (d *kindDef[T, E]) validate(c *Composition, e Entity) error {
	if d.Validate == nil {
		return nil
	}
	v := &ValidationError{}
	if err := d.Validate(c, e.(E), v); err != nil {
		return err
	}
	return v.Err()
}

func (d *kindDef[T, E]) afterCreate(tx *Tx, e Entity) error {
	if d.AfterCreate == nil {
		return nil
	}
	return d.AfterCreate(tx, e.(E))
}

func (d *kindDef[T, E]) afterUpdate(tx *Tx, e Entity) error {
	if d.AfterUpdate == nil {
		return nil
	}
	return d.AfterUpdate(tx, e.(E))
}

func (d *kindDef[T, E]) checkDelete(c *Composition, e Entity) error {
	if d.CheckDelete == nil {
		return nil
	}
	return d.CheckDelete(c, e.(E))
}

func (d *kindDef[T, E]) cascade(tx *Tx, e Entity) {
	if d.Cascade != nil {
		d.Cascade(tx, e.(E))
	}
}

func (d *kindDef[T, E]) importRefs(e Entity, ref refFunc) {
	if d.Import != nil {
		d.Import(e.(E), ref)
	}
}

func (d *kindDef[T, E]) sortForImport(es []Entity) {
	if d.ImportOrder != nil {
		slices.SortStableFunc(es, func(a, b Entity) int { return d.ImportOrder(a.(E), b.(E)) })
	}
}

func (d *kindDef[T, E]) hideSecrets(e Entity) {
	if d.HideSecrets != nil {
		d.HideSecrets(e.(E))
	}
}

func (d *kindDef[T, E]) hasSecrets() bool { return d.HideSecrets != nil }

func (d *kindDef[T, E]) shallowCopy(e Entity) Entity {
	n := new(T)
	*n = *(*T)(e.(E))
	return E(n)
}

func (d *kindDef[T, E]) managed() bool     { return d.NaturalKey != nil }
func (d *kindDef[T, E]) derived() []string { return d.Derived }

func (d *kindDef[T, E]) byValue(e Entity) map[string]any {
	if d.ByValue == nil {
		return nil
	}
	return d.ByValue(e.(E))
}

func (d *kindDef[T, E]) adopt(tx *Tx, e, old Entity) {
	if d.Adopt != nil {
		d.Adopt(tx, e.(E), as[E](old))
	}
}

func (d *kindDef[T, E]) naturalKey(x *keyIndex, e Entity) (string, string, error) {
	return d.NaturalKey(x, e.(E))
}

// KindOf returns the kind of an entity.
func KindOf(e Entity) Kind { return e.info().kind() }

// DecodeEntity decodes a stored entity of kind k.
func DecodeEntity(k Kind, data []byte) (Entity, error) {
	info, ok := lookupKind(k)
	if !ok {
		return nil, fmt.Errorf("decode entity: unknown kind %q", k)
	}
	return info.decode(data)
}
