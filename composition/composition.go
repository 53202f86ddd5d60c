package composition

import (
	"encoding/json"
	"fmt"
)

// Kind names a table of the composition; stores use it as a bucket or key prefix.
type Kind string

// The kinds of entity, in dependency order: an entity only refers to kinds
// listed before it, so loading or importing in this order never dangles.
const (
	KindService         Kind = "services"
	KindBackendAPI      Kind = "backend_apis"
	KindMetric          Kind = "metrics"
	KindMappingRule     Kind = "mapping_rules"
	KindBackendUsage    Kind = "backend_usages"
	KindApplicationPlan Kind = "application_plans"
	KindUsageLimit      Kind = "usage_limits"
	KindPricingRule     Kind = "pricing_rules"
	KindProxy           Kind = "proxies"
	KindProxyConfig     Kind = "proxy_configs"
	KindActiveDoc       Kind = "active_docs"
	KindAccount         Kind = "accounts"
	KindUser            Kind = "users"
	KindApplication     Kind = "applications"
	KindRegistryPolicy  Kind = "registry_policies"
	KindPlacement       Kind = "placements"
)

// Kinds lists every kind in dependency order.
var Kinds = []Kind{
	KindService, KindBackendAPI, KindMetric, KindMappingRule, KindBackendUsage,
	KindApplicationPlan, KindUsageLimit, KindPricingRule, KindProxy, KindProxyConfig,
	KindActiveDoc, KindAccount, KindUser, KindApplication, KindRegistryPolicy, KindPlacement,
}

// Composition is the whole 3scale composition at one revision.
type Composition struct {
	Services         Table[*Service]
	BackendAPIs      Table[*BackendAPI]
	Metrics          Table[*Metric]
	MappingRules     Table[*MappingRule]
	BackendUsages    Table[*BackendUsage]
	ApplicationPlans Table[*ApplicationPlan]
	UsageLimits      Table[*UsageLimit]
	PricingRules     Table[*PricingRule]
	Proxies          Table[*Proxy]
	ProxyConfigs     Table[*ProxyConfig]
	ActiveDocs       Table[*ActiveDoc]
	Accounts         Table[*Account]
	Users            Table[*User]
	Applications     Table[*Application]
	RegistryPolicies Table[*RegistryPolicy]
	Placements       Table[*Placement]

	// Revision increases by one with every committed write.
	Revision uint64
	// LastID is the highest id handed out; ids are never reused.
	LastID int64
}

// Snapshot is a published, immutable composition. Never modify what it returns.
type Snapshot = Composition

// New returns an empty composition at revision 0.
func New() *Composition {
	c := &Composition{LastID: ProviderAccountID}
	for _, k := range Kinds {
		c.setTable(k)
	}
	return c
}

func (c *Composition) setTable(k Kind) {
	switch k {
	case KindService:
		c.Services.items = map[int64]*Service{}
	case KindBackendAPI:
		c.BackendAPIs.items = map[int64]*BackendAPI{}
	case KindMetric:
		c.Metrics.items = map[int64]*Metric{}
	case KindMappingRule:
		c.MappingRules.items = map[int64]*MappingRule{}
	case KindBackendUsage:
		c.BackendUsages.items = map[int64]*BackendUsage{}
	case KindApplicationPlan:
		c.ApplicationPlans.items = map[int64]*ApplicationPlan{}
	case KindUsageLimit:
		c.UsageLimits.items = map[int64]*UsageLimit{}
	case KindPricingRule:
		c.PricingRules.items = map[int64]*PricingRule{}
	case KindProxy:
		c.Proxies.items = map[int64]*Proxy{}
	case KindProxyConfig:
		c.ProxyConfigs.items = map[int64]*ProxyConfig{}
	case KindActiveDoc:
		c.ActiveDocs.items = map[int64]*ActiveDoc{}
	case KindAccount:
		c.Accounts.items = map[int64]*Account{}
	case KindUser:
		c.Users.items = map[int64]*User{}
	case KindApplication:
		c.Applications.items = map[int64]*Application{}
	case KindRegistryPolicy:
		c.RegistryPolicies.items = map[int64]*RegistryPolicy{}
	case KindPlacement:
		c.Placements.items = map[int64]*Placement{}
	}
}

func (c *Composition) table(k Kind) table {
	switch k {
	case KindService:
		return &c.Services
	case KindBackendAPI:
		return &c.BackendAPIs
	case KindMetric:
		return &c.Metrics
	case KindMappingRule:
		return &c.MappingRules
	case KindBackendUsage:
		return &c.BackendUsages
	case KindApplicationPlan:
		return &c.ApplicationPlans
	case KindUsageLimit:
		return &c.UsageLimits
	case KindPricingRule:
		return &c.PricingRules
	case KindProxy:
		return &c.Proxies
	case KindProxyConfig:
		return &c.ProxyConfigs
	case KindActiveDoc:
		return &c.ActiveDocs
	case KindAccount:
		return &c.Accounts
	case KindUser:
		return &c.Users
	case KindApplication:
		return &c.Applications
	case KindRegistryPolicy:
		return &c.RegistryPolicies
	case KindPlacement:
		return &c.Placements
	}
	panic(fmt.Sprintf("composition: unknown kind %q", k))
}

// KindOf returns the kind of an entity.
func KindOf(e Entity) Kind {
	switch e.(type) {
	case *Service:
		return KindService
	case *BackendAPI:
		return KindBackendAPI
	case *Metric:
		return KindMetric
	case *MappingRule:
		return KindMappingRule
	case *BackendUsage:
		return KindBackendUsage
	case *ApplicationPlan:
		return KindApplicationPlan
	case *UsageLimit:
		return KindUsageLimit
	case *PricingRule:
		return KindPricingRule
	case *Proxy:
		return KindProxy
	case *ProxyConfig:
		return KindProxyConfig
	case *ActiveDoc:
		return KindActiveDoc
	case *Account:
		return KindAccount
	case *User:
		return KindUser
	case *Application:
		return KindApplication
	case *RegistryPolicy:
		return KindRegistryPolicy
	case *Placement:
		return KindPlacement
	}
	panic(fmt.Sprintf("composition: unknown entity type %T", e))
}

// DecodeEntity decodes a stored entity of kind k.
func DecodeEntity(k Kind, data []byte) (Entity, error) {
	var e Entity
	switch k {
	case KindService:
		e = &Service{}
	case KindBackendAPI:
		e = &BackendAPI{}
	case KindMetric:
		e = &Metric{}
	case KindMappingRule:
		e = &MappingRule{}
	case KindBackendUsage:
		e = &BackendUsage{}
	case KindApplicationPlan:
		e = &ApplicationPlan{}
	case KindUsageLimit:
		e = &UsageLimit{}
	case KindPricingRule:
		e = &PricingRule{}
	case KindProxy:
		e = &Proxy{}
	case KindProxyConfig:
		e = &ProxyConfig{}
	case KindActiveDoc:
		e = &ActiveDoc{}
	case KindAccount:
		e = &Account{}
	case KindUser:
		e = &User{}
	case KindApplication:
		e = &Application{}
	case KindRegistryPolicy:
		e = &RegistryPolicy{}
	case KindPlacement:
		e = &Placement{}
	default:
		return nil, fmt.Errorf("decode entity: unknown kind %q", k)
	}
	if err := json.Unmarshal(data, e); err != nil {
		return nil, fmt.Errorf("decode %s entity: %w", k, err)
	}
	return e, nil
}

// Restore adds a stored entity while a store loads a composition. It is for
// stores only: it bypasses validation, which ran when the entity was written.
func (c *Composition) Restore(k Kind, e Entity) {
	c.table(k).putEntity(e)
}

// Seal marks every table as shared, so the next Tx copies before writing.
func (c *Composition) Seal() {
	for _, k := range Kinds {
		c.table(k).seal()
	}
}

// Each calls fn for every entity of kind k, in no particular order.
func (c *Composition) Each(k Kind, fn func(Entity)) { c.table(k).eachEntity(fn) }

// Count returns how many entities the composition holds.
func (c *Composition) Count() int {
	n := 0
	for _, k := range Kinds {
		n += c.table(k).Len()
	}
	return n
}

// ServiceBySystemName returns the service with system_name.
func (c *Composition) ServiceBySystemName(name string) (*Service, bool) {
	return c.Services.Find(func(s *Service) bool { return s.SystemName == name })
}

// Hits returns the hits metric of an owner (service or backend API).
func (c *Composition) Hits(ownerType string, ownerID int64) (*Metric, bool) {
	return c.Metrics.Find(func(m *Metric) bool {
		return m.OwnerType == ownerType && m.OwnerID == ownerID && m.SystemName == "hits"
	})
}

// MetricsOf returns an owner's metrics and methods in id order.
func (c *Composition) MetricsOf(ownerType string, ownerID int64) []*Metric {
	return c.Metrics.Filter(func(m *Metric) bool { return m.OwnerType == ownerType && m.OwnerID == ownerID })
}

// MappingRulesOf returns an owner's mapping rules in position order.
func (c *Composition) MappingRulesOf(ownerType string, ownerID int64) []*MappingRule {
	rules := c.MappingRules.Filter(func(r *MappingRule) bool { return r.OwnerType == ownerType && r.OwnerID == ownerID })
	sortRules(rules)
	return rules
}

// PlansOf returns a service's application plans in id order.
func (c *Composition) PlansOf(serviceID int64) []*ApplicationPlan {
	return c.ApplicationPlans.Filter(func(p *ApplicationPlan) bool { return p.ServiceID == serviceID })
}

// PlacementsFor returns the placements whose selector picks an instance.
func (c *Composition) PlacementsFor(service string, labels map[string]string) []*Placement {
	return c.Placements.Filter(func(p *Placement) bool { return p.Selector.Matches(service, labels) })
}

// ServiceMetricIDs returns the ids of every metric a service's usage can name: its
// own and those of the backend APIs it uses.
func (c *Composition) ServiceMetricIDs(serviceID int64) map[int64]*Metric {
	out := map[int64]*Metric{}
	for _, m := range c.MetricsOf(OwnerService, serviceID) {
		out[m.ID] = m
	}
	for _, u := range c.BackendUsages.Filter(func(u *BackendUsage) bool { return u.ServiceID == serviceID }) {
		for _, m := range c.MetricsOf(OwnerBackendAPI, u.BackendAPIID) {
			out[m.ID] = m
		}
	}
	return out
}
