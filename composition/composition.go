package composition

import "slices"

// Kind names a table of the composition; stores use it as a bucket or key prefix.
type Kind string

// The kinds of entity; kinds (kind.go) lists them in dependency order.
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

// Composition is the whole 3scale composition at one revision: a Table per
// kind (each kind's descriptor in kind.go says which is its own).
type Composition struct {
	Services          Table[*Service]
	BackendAPIs       Table[*BackendAPI]
	Metrics           Table[*Metric]
	MappingRules      Table[*MappingRule]
	BackendUsages     Table[*BackendUsage]
	ApplicationPlans  Table[*ApplicationPlan]
	UsageLimits       Table[*UsageLimit]
	PricingRules      Table[*PricingRule]
	Proxies           Table[*Proxy]
	ProxyConfigs      Table[*ProxyConfig]
	ActiveDocs        Table[*ActiveDoc]
	AccountPlans      Table[*AccountPlan]
	Accounts          Table[*Account]
	Users             Table[*User]
	Applications      Table[*Application]
	RegistryPolicies  Table[*RegistryPolicy]
	Placements        Table[*Placement]
	AccessTokens      Table[*AccessToken]
	Features          Table[*Feature]
	Settings          Table[*Settings]
	FieldsDefs        Table[*FieldsDefinition]
	NotificationPrefs Table[*NotificationPreferences]
	ServicePlans      Table[*ServicePlan]
	ServiceContracts  Table[*ServiceContract]
	WebHooks          Table[*WebHook]
	WebHookEvents     Table[*WebHookEvent]
	WebHookFailures   Table[*WebHookFailure]
	AuthProviders     Table[*AuthenticationProvider]
	Messages          Table[*Message]

	// Revision increases by one with every committed write.
	Revision uint64
	// LastID is the highest id handed out; ids are never reused.
	LastID int64
	// CredentialKey is set on an agent's view (AgentView): application
	// credentials are HMAC-SHA-256 digests under it.
	CredentialKey []byte
}

// Snapshot is a published, immutable composition. Never modify what it returns.
type Snapshot = Composition

// New returns an empty composition at revision 0.
func New() *Composition {
	c := &Composition{LastID: ProviderAccountID}
	for _, k := range kinds {
		k.initTable(c)
	}
	return c
}

// table returns the table of kind k; it panics on an unknown kind.
func (c *Composition) table(k Kind) table { return mustKind(k).tableIn(c) }

// Restore adds a stored entity while a store loads a composition. It is for
// stores only: it bypasses validation, which ran when the entity was written.
func (c *Composition) Restore(k Kind, e Entity) {
	c.table(k).putEntity(e)
}

// Seal marks every table as shared, so the next Tx copies before writing.
func (c *Composition) Seal() {
	for _, k := range kinds {
		k.tableIn(c).seal()
	}
}

// Each calls fn for every entity of kind k, in no particular order.
func (c *Composition) Each(k Kind, fn func(Entity)) { c.table(k).eachEntity(fn) }

// Count returns how many entities the composition holds.
func (c *Composition) Count() int {
	n := 0
	for _, k := range kinds {
		n += k.tableIn(c).Len()
	}
	return n
}

// ServiceBySystemName returns the service with system_name.
func (c *Composition) ServiceBySystemName(name string) (*Service, bool) {
	return c.Services.Find(func(s *Service) bool { return s.SystemName == name })
}

// Hits returns the hits metric of an owner (service or backend API).
func (c *Composition) Hits(ownerType string, ownerID int64) (*Metric, bool) {
	return c.Metrics.FindUnder(ownerID, func(m *Metric) bool {
		return m.OwnerType == ownerType && m.SystemName == "hits"
	})
}

// MetricsOf returns an owner's metrics and methods in id order.
func (c *Composition) MetricsOf(ownerType string, ownerID int64) []*Metric {
	return slices.DeleteFunc(c.Metrics.Under(ownerID), func(m *Metric) bool { return m.OwnerType != ownerType })
}

// MappingRulesOf returns an owner's mapping rules in position order.
func (c *Composition) MappingRulesOf(ownerType string, ownerID int64) []*MappingRule {
	rules := slices.DeleteFunc(c.MappingRules.Under(ownerID), func(r *MappingRule) bool { return r.OwnerType != ownerType })
	sortRules(rules)
	return rules
}

// PlansOf returns a service's application plans in id order.
func (c *Composition) PlansOf(serviceID int64) []*ApplicationPlan {
	return c.ApplicationPlans.Under(serviceID)
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
	for _, u := range c.BackendUsages.Under(serviceID) {
		for _, m := range c.MetricsOf(OwnerBackendAPI, u.BackendAPIID) {
			out[m.ID] = m
		}
	}
	return out
}
