package composition

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Natural keys name the entities reconciling manages by what a document
// names them by: system names, org names, usernames, patterns, never ids.
// A key is its parent's key, "/", then "<tag>:<name>" (service:news,
// service:news/plan:basic, service:news/plan:basic/limit:backend:
// books/metric:hits@day); ':' is not allowed in system names, so keys of
// different entities never coincide. Free text (an org_name, an
// application's or a placement's name, which anyone signing up may choose)
// goes in through keyName, which escapes '/', '#' and '%', so that it can
// neither spell another entity's key ("ACME/user:alice") nor an ordinal.
// Each kind's NaturalKey (its kind_*.go) builds its own; entities that are
// exact duplicates under one key (two equal mapping rules) take an ordinal,
// "#2", in id order.
//
// Left out, as no document sets them: proxy configs (deployments), active
// docs, service plans and contracts, registry policies,
// access tokens, settings, fields definitions, notification preferences,
// webhooks with their events and failures, authentication providers,
// messages, custom plans, and features of the provider's account.

// ProviderKey is the key of the provider's own account, the parent of its
// users.
const ProviderKey = "provider"

// errUnmanaged is a NaturalKey's answer for an entity reconciling leaves
// alone.
var errUnmanaged = errors.New("not managed by reconciling")

// keyIndex holds the natural keys of one composition's managed entities.
type keyIndex struct {
	c      *Composition
	byID   map[int64]string     // entities with an id of their own
	keys   map[changeKey]string // every managed entity
	ids    map[string]changeKey // key → entity
	parent map[string]string    // key → parent key
	// present holds the ids of entities without a key (a service plan):
	// a reference to one is to something reconciling leaves alone.
	present map[int64]bool
	// failed holds why an entity has no key, for an error about desired.
	failed map[changeKey]error
}

func newKeyIndex(c *Composition) *keyIndex {
	x := &keyIndex{
		c: c, byID: map[int64]string{}, keys: map[changeKey]string{},
		ids: map[string]changeKey{}, parent: map[string]string{},
		present: map[int64]bool{}, failed: map[changeKey]error{},
	}
	for _, k := range kinds {
		for _, e := range sortedEntities(k.tableIn(c)) {
			x.add(k, e)
		}
	}
	return x
}

// sortedEntities returns a table's entities in id order.
func sortedEntities(t table) []Entity {
	out := make([]Entity, 0, t.Len())
	t.eachEntity(func(e Entity) { out = append(out, e) })
	slices.SortFunc(out, func(a, b Entity) int { return cmp.Compare(a.Key(), b.Key()) })
	return out
}

// add indexes e, whose parents must be indexed already.
func (x *keyIndex) add(k kindInfo, e Entity) {
	ck := changeKey{k.kind(), e.Key()}
	if !k.managed() {
		if !k.sharesID() {
			x.present[e.Key()] = true
		}
		return
	}
	key, parent, err := k.naturalKey(x, e)
	if err != nil {
		if !k.sharesID() {
			x.present[e.Key()] = true
		}
		if !errors.Is(err, errUnmanaged) {
			x.failed[ck] = err
		}
		return
	}
	if _, dup := x.ids[key]; dup {
		for n := 2; ; n++ {
			if _, dup := x.ids[key+"#"+strconv.Itoa(n)]; !dup {
				key += "#" + strconv.Itoa(n)
				break
			}
		}
	}
	x.keys[ck] = key
	x.ids[key] = ck
	x.parent[key] = parent
	if !k.sharesID() {
		x.byID[e.Key()] = key
	}
}

// forget drops an entity that is gone.
func (x *keyIndex) forget(ck changeKey) {
	key, ok := x.keys[ck]
	if !ok {
		return
	}
	delete(x.keys, ck)
	delete(x.ids, key)
	delete(x.parent, key)
	if x.byID[ck.id] == key {
		delete(x.byID, ck.id)
	}
}

// ref returns the key of the entity id, which e's field refers to.
func (x *keyIndex) ref(field string, id int64) (string, error) {
	if id == ProviderAccountID {
		return ProviderKey, nil
	}
	if key, ok := x.byID[id]; ok {
		return key, nil
	}
	if x.present[id] {
		return "", errUnmanaged
	}
	return "", Invalid(field, fmt.Sprintf("refers to id %d, which the composition does not hold", id))
}

// entity returns the entity with key.
func (x *keyIndex) entity(key string) (Entity, bool) {
	ck, ok := x.ids[key]
	if !ok {
		return nil, false
	}
	return x.c.table(ck.kind).getEntity(ck.id)
}

// entityOf returns the entity of kind k with key; a key naming an entity
// of another kind is an error naming both, never one compared as the
// other: keys are built apart per kind, so it means two kinds' keys
// collided.
func (x *keyIndex) entityOf(k Kind, key string) (Entity, bool, error) {
	ck, ok := x.ids[key]
	if !ok {
		return nil, false, nil
	}
	if ck.kind != k {
		return nil, false, fmt.Errorf("key %q names %s %d, not one of %s: two entities' names spell the same key", key, ck.kind, ck.id, k)
	}
	e, ok := x.c.table(ck.kind).getEntity(ck.id)
	return e, ok, nil
}

// under reports whether key is owner or one of its descendants.
func (x *keyIndex) under(key string, owners map[string]bool) bool {
	for key != "" {
		if owners[key] {
			return true
		}
		key = x.parent[key]
	}
	return false
}

// BackendKey is the natural key reconciling names the backend API
// system_name by: DiffOptions.Owners of what a backend owns, as ServiceKey
// is a service's.
func BackendKey(systemName string) string { return childKey("", "backend", systemName) }

// keyEscaper escapes what structures a key: '/' between a parent and a
// child, '#' before an ordinal, and '%' itself.
var keyEscaper = strings.NewReplacer("%", "%25", "/", "%2F", "#", "%23")

// keyName is free text as a part of a key.
func keyName(s string) string { return keyEscaper.Replace(s) }

// childKey is a key below parent, or a root key when parent is "".
func childKey(parent, tag, name string) string {
	if parent == "" {
		return tag + ":" + name
	}
	return parent + "/" + tag + ":" + name
}

// ownedKey is the key below an entity's owner (a service or a backend API,
// which metrics and mapping rules belong to).
func (x *keyIndex) ownedKey(field string, ownerID int64, tag, name string) (string, string, error) {
	owner, err := x.ref(field, ownerID)
	if err != nil {
		return "", "", err
	}
	return childKey(owner, tag, name), owner, nil
}
