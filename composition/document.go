package composition

import (
	"cmp"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"time"
)

// DocumentFormat identifies a portable composition document.
const DocumentFormat = "portolan.composition/v1"

// Document is a whole composition in portable form: what `portolan export`
// writes and `portolan import composition` reads.
type Document struct {
	Format   string    `json:"format"`
	Revision uint64    `json:"revision"`
	Exported time.Time `json:"exported_at"`
	Secrets  bool      `json:"secrets"`

	Services         []*Service         `json:"services"`
	BackendAPIs      []*BackendAPI      `json:"backend_apis"`
	Metrics          []*Metric          `json:"metrics"`
	MappingRules     []*MappingRule     `json:"mapping_rules"`
	BackendUsages    []*BackendUsage    `json:"backend_usages"`
	ApplicationPlans []*ApplicationPlan `json:"application_plans"`
	UsageLimits      []*UsageLimit      `json:"usage_limits"`
	PricingRules     []*PricingRule     `json:"pricing_rules"`
	Proxies          []*Proxy           `json:"proxies"`
	ProxyConfigs     []*ProxyConfig     `json:"proxy_configs"`
	ActiveDocs       []*ActiveDoc       `json:"active_docs"`
	Accounts         []*Account         `json:"accounts"`
	Users            []*User            `json:"users"`
	Applications     []*Application     `json:"applications"`
	RegistryPolicies []*RegistryPolicy  `json:"registry_policies"`
	Placements       []*Placement       `json:"placements"`
}

// Export returns c as a document of copies: editing it never touches c.
// Without secrets, application credentials, user passwords and proxy secret
// tokens are left out; an import then makes new ones.
func Export(c *Composition, secrets bool, now time.Time) *Document {
	d := &Document{
		Format: DocumentFormat, Revision: c.Revision, Exported: now.UTC(), Secrets: secrets,
		Services: copies(&c.Services), BackendAPIs: copies(&c.BackendAPIs), Metrics: copies(&c.Metrics),
		MappingRules: copies(&c.MappingRules), BackendUsages: copies(&c.BackendUsages),
		ApplicationPlans: copies(&c.ApplicationPlans), UsageLimits: copies(&c.UsageLimits),
		PricingRules: copies(&c.PricingRules), Proxies: copies(&c.Proxies), ProxyConfigs: copies(&c.ProxyConfigs),
		ActiveDocs: copies(&c.ActiveDocs), Accounts: copies(&c.Accounts), Users: copies(&c.Users),
		Applications: copies(&c.Applications), RegistryPolicies: copies(&c.RegistryPolicies),
		Placements: copies(&c.Placements),
	}
	if !secrets {
		for _, p := range d.Proxies {
			p.SecretToken = ""
		}
		for _, u := range d.Users {
			u.Password = ""
		}
		for _, a := range d.Applications {
			a.UserKey, a.AppID, a.AppKeys, a.ProviderVerificationKey = "", "", nil, ""
		}
	}
	return d
}

// copies returns shallow copies of a table's entities in id order; slices in
// entities are never modified in place, so sharing them is safe.
func copies[T any, P interface {
	*T
	Entity
}](t *Table[P]) []P {
	all := t.All()
	out := make([]P, len(all))
	for i, e := range all {
		c := new(T)
		*c = *(*T)(e)
		out[i] = c
	}
	return out
}

// ImportStats counts what an import created.
type ImportStats struct {
	Entities int             `json:"entities"`
	IDs      map[int64]int64 `json:"-"`
}

// Import adds every entity of d to the composition of tx under fresh ids,
// rewriting every reference to match. Each entity is validated as a create
// would be; the first problem fails the whole import, naming the entity.
func Import(tx *Tx, d *Document) (*ImportStats, error) {
	if d.Format != DocumentFormat {
		return nil, Invalid("format", fmt.Sprintf("is %q, want %q", d.Format, DocumentFormat))
	}
	ids := map[int64]int64{ProviderAccountID: ProviderAccountID}
	// Every id is assigned before any reference is rewritten, so order within
	// a kind (a method before its hits) does not matter.
	assign := func(old int64) {
		if _, ok := ids[old]; !ok {
			ids[old] = tx.NextID()
		}
	}
	each := func(fn func(Entity)) {
		for _, k := range Kinds {
			es := d.entities(k)
			if k == KindMetric {
				// Methods after plain metrics, so a method validates against its hits.
				slices.SortStableFunc(es, func(a, b Entity) int {
					return cmp.Compare(b2i(a.(*Metric).IsMethod()), b2i(b.(*Metric).IsMethod()))
				})
			}
			for _, e := range es {
				fn(e)
			}
		}
	}
	var err error
	each(func(e Entity) {
		if _, isProxy := e.(*Proxy); !isProxy {
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
	each(func(orig Entity) {
		if err != nil {
			return
		}
		e := cloneEntity(orig)
		switch v := e.(type) {
		case *Metric:
			v.OwnerID, v.ParentID = ref("owner_id", v.OwnerID), ref("parent_id", v.ParentID)
		case *MappingRule:
			v.OwnerID, v.MetricID = ref("owner_id", v.OwnerID), ref("metric_id", v.MetricID)
		case *BackendUsage:
			v.ServiceID, v.BackendAPIID = ref("service_id", v.ServiceID), ref("backend_id", v.BackendAPIID)
		case *ApplicationPlan:
			v.ServiceID = ref("service_id", v.ServiceID)
		case *UsageLimit:
			v.PlanID, v.MetricID = ref("plan_id", v.PlanID), ref("metric_id", v.MetricID)
		case *PricingRule:
			v.PlanID, v.MetricID = ref("plan_id", v.PlanID), ref("metric_id", v.MetricID)
		case *Proxy:
			v.ServiceID = ref("service_id", v.ServiceID)
			if v.SecretToken == "" {
				v.SecretToken = DefaultProxy(v.ServiceID).SecretToken
			}
		case *ProxyConfig:
			v.ServiceID = ref("service_id", v.ServiceID)
		case *ActiveDoc:
			v.ServiceID = ref("service_id", v.ServiceID)
		case *User:
			v.AccountID = ref("account_id", v.AccountID)
		case *Application:
			v.AccountID, v.ServiceID, v.PlanID = ref("user_account_id", v.AccountID), ref("service_id", v.ServiceID), ref("plan_id", v.PlanID)
		case *Placement:
			v.ServiceID = ref("service_id", v.ServiceID)
			plans := make([]int64, len(v.PlanIDs))
			for i, id := range v.PlanIDs {
				plans[i] = ref("plan_ids", id)
			}
			v.PlanIDs = plans
		}
		if err != nil {
			return
		}
		if _, isProxy := e.(*Proxy); !isProxy {
			e.stamp(ids[orig.Key()], tx.now, tx.now)
		} else {
			e.stamp(0, tx.now, tx.now)
		}
		if perr := tx.prepare(e, nil); perr != nil {
			err = fmt.Errorf("import %s %d: %w", KindOf(e), orig.Key(), perr)
			return
		}
		if verr := tx.validate(e, nil); verr != nil {
			err = fmt.Errorf("import %s %d: %w", KindOf(e), orig.Key(), verr)
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

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (d *Document) entities(k Kind) []Entity {
	switch k {
	case KindService:
		return entities(d.Services)
	case KindBackendAPI:
		return entities(d.BackendAPIs)
	case KindMetric:
		return entities(d.Metrics)
	case KindMappingRule:
		return entities(d.MappingRules)
	case KindBackendUsage:
		return entities(d.BackendUsages)
	case KindApplicationPlan:
		return entities(d.ApplicationPlans)
	case KindUsageLimit:
		return entities(d.UsageLimits)
	case KindPricingRule:
		return entities(d.PricingRules)
	case KindProxy:
		return entities(d.Proxies)
	case KindProxyConfig:
		return entities(d.ProxyConfigs)
	case KindActiveDoc:
		return entities(d.ActiveDocs)
	case KindAccount:
		return entities(d.Accounts)
	case KindUser:
		return entities(d.Users)
	case KindApplication:
		return entities(d.Applications)
	case KindRegistryPolicy:
		return entities(d.RegistryPolicies)
	case KindPlacement:
		return entities(d.Placements)
	}
	return nil
}

func entities[E Entity](in []E) []Entity {
	out := make([]Entity, 0, len(in))
	for _, e := range in {
		if !reflect.ValueOf(e).IsNil() { // a null entry in the document
			out = append(out, e)
		}
	}
	return out
}

// cloneEntity deep-copies e through its stored form, so an import never
// aliases the document it reads.
func cloneEntity(e Entity) Entity {
	b, err := json.Marshal(e)
	if err != nil {
		panic(fmt.Sprintf("composition: clone %T: %v", e, err))
	}
	c, err := DecodeEntity(KindOf(e), b)
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
	for _, k := range Kinds {
		for _, e := range out.entities(k) {
			e.stamp(e.Key(), time.Time{}, time.Time{})
		}
	}
	out.Revision = 0
	slices.SortStableFunc(out.Proxies, func(a, b *Proxy) int { return int(a.ServiceID - b.ServiceID) })
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
	c := New()
	for _, k := range Kinds {
		for _, e := range d.entities(k) {
			c.Restore(k, e)
			if _, isProxy := e.(*Proxy); !isProxy && e.Key() > c.LastID {
				c.LastID = e.Key()
			}
		}
	}
	c.Revision = d.Revision
	c.Seal()
	return c, nil
}
