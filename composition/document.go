package composition

import (
	"encoding/json"
	"fmt"
	"time"
)

// DocumentFormat identifies a portable composition document.
const DocumentFormat = "portolan.composition/v1"

// Document is a whole composition in portable form: what `portolan export`
// writes and `portolan import composition` reads. It lists the entities of
// each kind under the kind's name, in the order of kinds.
type Document struct {
	Format   string    `json:"format"`
	Revision uint64    `json:"revision"`
	Exported time.Time `json:"exported_at"`
	Secrets  bool      `json:"secrets"`
	// CredentialKey is set in an agent's view (AgentView): the key its
	// application credentials are hashed under.
	CredentialKey []byte `json:"credential_key,omitempty"`

	Services          []*Service                 `json:"services"`
	BackendAPIs       []*BackendAPI              `json:"backend_apis"`
	Metrics           []*Metric                  `json:"metrics"`
	MappingRules      []*MappingRule             `json:"mapping_rules"`
	BackendUsages     []*BackendUsage            `json:"backend_usages"`
	ApplicationPlans  []*ApplicationPlan         `json:"application_plans"`
	UsageLimits       []*UsageLimit              `json:"usage_limits"`
	PricingRules      []*PricingRule             `json:"pricing_rules"`
	Proxies           []*Proxy                   `json:"proxies"`
	ProxyConfigs      []*ProxyConfig             `json:"proxy_configs"`
	ActiveDocs        []*ActiveDoc               `json:"active_docs"`
	AccountPlans      []*AccountPlan             `json:"account_plans"`
	Accounts          []*Account                 `json:"accounts"`
	Users             []*User                    `json:"users"`
	Applications      []*Application             `json:"applications"`
	RegistryPolicies  []*RegistryPolicy          `json:"registry_policies"`
	Placements        []*Placement               `json:"placements"`
	AccessTokens      []*AccessToken             `json:"access_tokens"`
	Features          []*Feature                 `json:"features"`
	Settings          []*Settings                `json:"settings"`
	FieldsDefs        []*FieldsDefinition        `json:"fields_definitions"`
	NotificationPrefs []*NotificationPreferences `json:"notification_preferences"`
	ServicePlans      []*ServicePlan             `json:"service_plans"`
	ServiceContracts  []*ServiceContract         `json:"service_contracts"`
	WebHooks          []*WebHook                 `json:"webhooks"`
	WebHookEvents     []*WebHookEvent            `json:"webhook_events"`
	WebHookFailures   []*WebHookFailure          `json:"webhook_failures"`
	AuthProviders     []*AuthenticationProvider  `json:"authentication_providers"`
	Messages          []*Message                 `json:"messages"`
}

// Export returns c as a document of copies: editing it never touches c.
// Without secrets, application credentials, user passwords and proxy secret
// tokens are left out, and so are the event documents of webhook events
// and failures, which carry application keys; an import then makes new
// credentials.
func Export(c *Composition, secrets bool, now time.Time) *Document {
	d := &Document{Format: DocumentFormat, Revision: c.Revision, Exported: now.UTC(), Secrets: secrets, CredentialKey: c.CredentialKey}
	for _, k := range kinds {
		k.export(c, d, secrets)
	}
	return d
}

// ImportStats counts what an import created.
type ImportStats struct {
	Entities int             `json:"entities"`
	IDs      map[int64]int64 `json:"-"`
}

// Import adds every entity of d to the composition of tx under fresh ids,
// rewriting every reference to match, but those that are the exporting
// home's own state (importCarries). Each entity is validated as a create
// would be; the first problem fails the whole import, naming the entity.
func Import(tx *Tx, d *Document) (*ImportStats, error) {
	if d.Format != DocumentFormat {
		return nil, Invalid("format", fmt.Sprintf("is %q, want %q", d.Format, DocumentFormat))
	}
	if err := d.checkImportIDs(); err != nil {
		return nil, err
	}
	ids := map[int64]int64{ProviderAccountID: ProviderAccountID}
	// Every id is assigned before any reference is rewritten, so order within
	// a kind (a method before its hits) does not matter.
	assign := func(old int64) {
		if _, ok := ids[old]; !ok {
			ids[old] = tx.NextID()
		}
	}
	each := func(fn func(kindInfo, Entity)) {
		for _, k := range kinds {
			es := k.inDocument(d)
			k.sortForImport(es)
			for _, e := range es {
				if importCarries(e) {
					fn(k, e)
				}
			}
		}
	}
	var err error
	each(func(k kindInfo, e Entity) {
		if !k.sharesID() {
			assign(e.Key())
		}
	})
	ref := func(field string, old int64) int64 {
		if old == 0 {
			return 0
		}
		n, ok := ids[old]
		if !ok && err == nil {
			err = Invalid(field, fmt.Sprintf("refers to id %d, which the document does not contain", old))
		}
		return n
	}
	stats := &ImportStats{IDs: ids}
	each(func(k kindInfo, orig Entity) {
		if err != nil {
			return
		}
		e := cloneEntity(orig)
		k.importRefs(e, ref)
		if err != nil {
			return
		}
		e.stamp(ids[orig.Key()], tx.now, tx.now) // an entity that shares its id keeps it
		if perr := k.prepare(tx.c, e, nil); perr != nil {
			err = fmt.Errorf("import %s %d: %w", k.kind(), orig.Key(), perr)
			return
		}
		if verr := k.validate(tx.c, e); verr != nil {
			err = fmt.Errorf("import %s %d: %w", k.kind(), orig.Key(), verr)
			return
		}
		tx.put(e)
		stats.Entities++
	})
	if err != nil {
		return nil, err
	}
	return stats, nil
}

// ServiceNames maps the id of each service in d to its system_name, for
// messages that name a service's entity.
func (d *Document) ServiceNames() map[int64]string {
	names := make(map[int64]string, len(d.Services))
	for _, s := range d.Services {
		if s != nil {
			names[s.ID] = s.SystemName
		}
	}
	return names
}

// entities returns the entities of kind k in d, skipping null entries.
func (d *Document) entities(k Kind) []Entity { return mustKind(k).inDocument(d) }

// cloneEntity deep-copies e through its stored form, so an import never
// aliases the document it reads.
func cloneEntity(e Entity) Entity {
	b, err := json.Marshal(e)
	if err != nil {
		panic(fmt.Sprintf("composition: clone %T: %v", e, err))
	}
	c, err := e.info().decode(b)
	if err != nil {
		panic(fmt.Sprintf("composition: clone %T: %v", e, err))
	}
	return c
}

// Canonical returns a copy of d with ids renumbered in document order and
// timestamps and revision cleared, so two documents of equal compositions from
// different homes compare equal.
func (d *Document) Canonical() (*Document, error) {
	tx := NewTx(New(), time.Time{})
	if _, err := Import(tx, d); err != nil {
		return nil, err
	}
	out := Export(tx.View(), d.Secrets, time.Time{})
	out.Exported = time.Time{}
	for _, k := range kinds {
		for _, e := range k.inDocument(out) {
			e.stamp(e.Key(), time.Time{}, time.Time{})
		}
	}
	out.Revision = 0
	return out, nil
}

// Composition rebuilds the composition a document was exported from, ids
// kept, as a sealed snapshot at the document's revision. It is for a
// document from a home (which validated every entity): an agent's local copy.
// A null entry is skipped.
func (d *Document) Composition() (*Composition, error) {
	if d.Format != DocumentFormat {
		return nil, Invalid("format", fmt.Sprintf("is %q, want %q", d.Format, DocumentFormat))
	}
	if err := d.checkIDs(); err != nil {
		return nil, err
	}
	c := New()
	for _, k := range kinds {
		for _, e := range k.inDocument(d) {
			k.tableIn(c).putEntity(e)
			if !k.sharesID() && e.Key() > c.LastID {
				c.LastID = e.Key()
			}
		}
	}
	c.Revision = d.Revision
	c.CredentialKey = d.CredentialKey
	c.Seal()
	return c, nil
}

// checkIDs refuses a document in which two entities have one id: ids are
// one sequence across kinds, and references name entities by id alone, so
// an import would merge the two, or point a reference at the wrong one. A
// proxy has its service's id; two proxies of one service are refused too.
func (d *Document) checkIDs() error {
	seen := map[int64]Kind{}
	proxies := map[int64]bool{}
	for _, k := range kinds {
		for _, e := range k.inDocument(d) {
			id := e.Key()
			if k.sharesID() {
				if proxies[id] {
					return Invalid("id", fmt.Sprintf("%s %d appears twice in the document", k.kind(), id))
				}
				proxies[id] = true
				continue
			}
			if other, dup := seen[id]; dup {
				return Invalid("id", fmt.Sprintf("%s %d has the id of another entity of the document (%s %d): "+
					"every entity needs an id of its own", k.kind(), id, other, id))
			}
			seen[id] = k.kind()
		}
	}
	return nil
}

// checkImportIDs refuses, before an import, an entity whose id is 0 (a
// reference to nothing) or 1 (the provider account's): no home gives
// those, so the document is no export, and its references could not be
// told apart. Then checkIDs.
func (d *Document) checkImportIDs() error {
	for _, k := range kinds {
		if k.sharesID() {
			continue
		}
		// The position named is the entry's in the list as written, nulls
		// counted, so that it points at the entry a user must fix.
		for i, e := range k.listInDocument(d) {
			if e == nil {
				continue
			}
			if id := e.Key(); id <= ProviderAccountID && importCarries(e) {
				return Invalid("id", fmt.Sprintf("%s[%d] has id %d: every entity of a composition document needs the id "+
					"its home gave it, above %d (0 refers to nothing, %d is the provider account's); write the document with portolan export",
					k.kind(), i, id, ProviderAccountID, ProviderAccountID))
			}
		}
	}
	return d.checkIDs()
}

// listInDocument returns the kind's entities in d at their places in its
// list, nil for a null entry (inDocument skips those).
func (d *kindDef[T, E]) listInDocument(doc *Document) []Entity {
	in := *d.Document(doc)
	out := make([]Entity, len(in))
	for i, e := range in {
		if (*T)(e) != nil {
			out[i] = e
		}
	}
	return out
}
