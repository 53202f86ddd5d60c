package composition

import "time"

// Entity is anything the composition stores under an id: the type of one
// kind. The methods below make each kind's type an Entity.
type Entity interface {
	Key() int64
	// stamp sets the id and timestamps; an entity keyed by another's id keeps
	// its own.
	stamp(id int64, created, updated time.Time)
	created() time.Time
	// info returns the descriptor of the entity's kind.
	info() kindInfo
}

func (e *Service) Key() int64         { return e.ID }
func (e *BackendAPI) Key() int64      { return e.ID }
func (e *Metric) Key() int64          { return e.ID }
func (e *MappingRule) Key() int64     { return e.ID }
func (e *BackendUsage) Key() int64    { return e.ID }
func (e *ApplicationPlan) Key() int64 { return e.ID }
func (e *UsageLimit) Key() int64      { return e.ID }
func (e *PricingRule) Key() int64     { return e.ID }
func (e *Proxy) Key() int64           { return e.ServiceID }
func (e *ProxyConfig) Key() int64     { return e.ID }
func (e *ActiveDoc) Key() int64       { return e.ID }
func (e *Account) Key() int64         { return e.ID }
func (e *User) Key() int64            { return e.ID }
func (e *Application) Key() int64     { return e.ID }
func (e *RegistryPolicy) Key() int64  { return e.ID }
func (e *Placement) Key() int64       { return e.ID }

func (e *Service) stamp(id int64, c, u time.Time)         { e.ID, e.CreatedAt, e.UpdatedAt = id, c, u }
func (e *BackendAPI) stamp(id int64, c, u time.Time)      { e.ID, e.CreatedAt, e.UpdatedAt = id, c, u }
func (e *Metric) stamp(id int64, c, u time.Time)          { e.ID, e.CreatedAt, e.UpdatedAt = id, c, u }
func (e *MappingRule) stamp(id int64, c, u time.Time)     { e.ID, e.CreatedAt, e.UpdatedAt = id, c, u }
func (e *BackendUsage) stamp(id int64, c, u time.Time)    { e.ID, e.CreatedAt, e.UpdatedAt = id, c, u }
func (e *ApplicationPlan) stamp(id int64, c, u time.Time) { e.ID, e.CreatedAt, e.UpdatedAt = id, c, u }
func (e *UsageLimit) stamp(id int64, c, u time.Time)      { e.ID, e.CreatedAt, e.UpdatedAt = id, c, u }
func (e *PricingRule) stamp(id int64, c, u time.Time)     { e.ID, e.CreatedAt, e.UpdatedAt = id, c, u }

// A proxy's id is its service's, so stamp keeps it.
func (e *Proxy) stamp(_ int64, c, u time.Time) { e.CreatedAt, e.UpdatedAt = c, u }

func (e *ProxyConfig) stamp(id int64, c, u time.Time)    { e.ID, e.CreatedAt, e.UpdatedAt = id, c, u }
func (e *ActiveDoc) stamp(id int64, c, u time.Time)      { e.ID, e.CreatedAt, e.UpdatedAt = id, c, u }
func (e *Account) stamp(id int64, c, u time.Time)        { e.ID, e.CreatedAt, e.UpdatedAt = id, c, u }
func (e *User) stamp(id int64, c, u time.Time)           { e.ID, e.CreatedAt, e.UpdatedAt = id, c, u }
func (e *Application) stamp(id int64, c, u time.Time)    { e.ID, e.CreatedAt, e.UpdatedAt = id, c, u }
func (e *RegistryPolicy) stamp(id int64, c, u time.Time) { e.ID, e.CreatedAt, e.UpdatedAt = id, c, u }
func (e *Placement) stamp(id int64, c, u time.Time)      { e.ID, e.CreatedAt, e.UpdatedAt = id, c, u }

func (e *Service) created() time.Time         { return e.CreatedAt }
func (e *BackendAPI) created() time.Time      { return e.CreatedAt }
func (e *Metric) created() time.Time          { return e.CreatedAt }
func (e *MappingRule) created() time.Time     { return e.CreatedAt }
func (e *BackendUsage) created() time.Time    { return e.CreatedAt }
func (e *ApplicationPlan) created() time.Time { return e.CreatedAt }
func (e *UsageLimit) created() time.Time      { return e.CreatedAt }
func (e *PricingRule) created() time.Time     { return e.CreatedAt }
func (e *Proxy) created() time.Time           { return e.CreatedAt }
func (e *ProxyConfig) created() time.Time     { return e.CreatedAt }
func (e *ActiveDoc) created() time.Time       { return e.CreatedAt }
func (e *Account) created() time.Time         { return e.CreatedAt }
func (e *User) created() time.Time            { return e.CreatedAt }
func (e *Application) created() time.Time     { return e.CreatedAt }
func (e *RegistryPolicy) created() time.Time  { return e.CreatedAt }
func (e *Placement) created() time.Time       { return e.CreatedAt }

func (*Service) info() kindInfo         { return serviceDef }
func (*BackendAPI) info() kindInfo      { return backendAPIDef }
func (*Metric) info() kindInfo          { return metricDef }
func (*MappingRule) info() kindInfo     { return mappingRuleDef }
func (*BackendUsage) info() kindInfo    { return backendUsageDef }
func (*ApplicationPlan) info() kindInfo { return applicationPlanDef }
func (*UsageLimit) info() kindInfo      { return usageLimitDef }
func (*PricingRule) info() kindInfo     { return pricingRuleDef }
func (*Proxy) info() kindInfo           { return proxyDef }
func (*ProxyConfig) info() kindInfo     { return proxyConfigDef }
func (*ActiveDoc) info() kindInfo       { return activeDocDef }
func (*Account) info() kindInfo         { return accountDef }
func (*User) info() kindInfo            { return userDef }
func (*Application) info() kindInfo     { return applicationDef }
func (*RegistryPolicy) info() kindInfo  { return registryPolicyDef }
func (*Placement) info() kindInfo       { return placementDef }
