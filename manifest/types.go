package manifest

// Field tags: `json` is the document's field name (YAML and JSON alike);
// `manifest` says what the decoder and the JSON Schema check: required (must
// be present and not empty), oneof=a b c (the value's set), min=N (an
// integer's lower bound) and key (the field that names an element in error
// paths: plans[basic] rather than plans[0]).

// APIVersion is the apiVersion of Portolan's own documents.
const APIVersion = "portolan.dev/v1"

// Kind is the kind of a document.
type Kind string

// The kinds of document, in the order Export writes them: a document only
// refers to kinds before it.
const (
	KindBackend     Kind = "Backend"
	KindService     Kind = "Service"
	KindAccountPlan Kind = "AccountPlan"
	KindAccount     Kind = "Account"
	KindPlacement   Kind = "Placement"
)

// Kinds lists every kind of document in dependency order.
var Kinds = []Kind{KindBackend, KindService, KindAccountPlan, KindAccount, KindPlacement}

// Document is one declarative document: exactly one of Service, Backend,
// AccountPlan, Account and Placement is set, the one Kind names. On the wire it is the
// entity's fields with apiVersion and kind beside them.
type Document struct {
	Kind        Kind
	Service     *Service
	Backend     *Backend
	AccountPlan *AccountPlan
	Account     *Account
	Placement   *Placement

	// Origin is where the document was read; zero for an exported one.
	Origin Origin
}

// Origin is where a document was read: its source (a file name, "-" or
// what the caller passed to Decode), its position in the source (1-based,
// counting the documents of a List or JSON array one by one) and the line
// it starts on.
type Origin struct {
	Source string
	Index  int
	Line   int
}

// Name returns the name that identifies the document's entity: the
// system_name of a service, backend or account plan, the org_name of an account, the name
// of a placement.
func (d *Document) Name() string {
	switch {
	case d.Service != nil:
		return d.Service.SystemName
	case d.Backend != nil:
		return d.Backend.SystemName
	case d.AccountPlan != nil:
		return d.AccountPlan.SystemName
	case d.Account != nil:
		return d.Account.OrgName
	case d.Placement != nil:
		return d.Placement.Name
	}
	return ""
}

// entity returns the document's entity, the value its fields decode into.
func (d *Document) entity() any {
	switch d.Kind {
	case KindService:
		if d.Service == nil {
			d.Service = &Service{}
		}
		return d.Service
	case KindBackend:
		if d.Backend == nil {
			d.Backend = &Backend{}
		}
		return d.Backend
	case KindAccountPlan:
		if d.AccountPlan == nil {
			d.AccountPlan = &AccountPlan{}
		}
		return d.AccountPlan
	case KindAccount:
		if d.Account == nil {
			d.Account = &Account{}
		}
		return d.Account
	case KindPlacement:
		if d.Placement == nil {
			d.Placement = &Placement{}
		}
		return d.Placement
	}
	return nil
}

// Service is a 3scale product with all that belongs to it: metrics and
// methods, mapping rules, backend usages, gateway settings, application
// plans and features.
type Service struct {
	SystemName  string `json:"system_name" manifest:"required,key"`
	Name        string `json:"name" manifest:"required"`
	Description string `json:"description,omitempty"`
	// Version is the content version an image's documents carry: of two
	// documents of one service with other content, the higher version wins.
	Version int64 `json:"version,omitempty" manifest:"min=0"`

	DeploymentOption            string `json:"deployment_option,omitempty" manifest:"oneof=hosted self_managed"`
	BackendVersion              string `json:"backend_version,omitempty" manifest:"oneof=1 2 oidc"`
	SupportEmail                string `json:"support_email,omitempty"`
	IntentionsRequired          bool   `json:"intentions_required,omitempty"`
	BuyersManageApps            bool   `json:"buyers_manage_apps,omitempty"`
	BuyersManageKeys            bool   `json:"buyers_manage_keys,omitempty"`
	ReferrerFiltersRequired     bool   `json:"referrer_filters_required,omitempty"`
	CustomKeysEnabled           bool   `json:"custom_keys_enabled,omitempty"`
	BuyerKeyRegenerateEnabled   bool   `json:"buyer_key_regenerate_enabled,omitempty"`
	MandatoryAppKey             bool   `json:"mandatory_app_key,omitempty"`
	BuyerCanSelectPlan          bool   `json:"buyer_can_select_plan,omitempty"`
	BuyerPlanChangePermission   string `json:"buyer_plan_change_permission,omitempty" manifest:"oneof=request direct credit_card request_credit_card none"`
	EndUserRegistrationRequired bool   `json:"end_user_registration_required,omitempty"`
	// AlertLimits are the utilization percentages that raise usage alerts.
	AlertLimits []int64 `json:"alert_limits,omitempty" manifest:"oneof=50 80 90 100 120 150 200 300"`

	Proxy         *Proxy         `json:"proxy,omitempty"`
	Metrics       []Metric       `json:"metrics,omitempty"`
	MappingRules  []MappingRule  `json:"mapping_rules,omitempty"`
	BackendUsages []BackendUsage `json:"backend_usages,omitempty"`
	Plans         []Plan         `json:"plans,omitempty"`
	Features      []Feature      `json:"features,omitempty"`
}

// Metric is a metric of a service or backend; only hits has methods.
type Metric struct {
	SystemName   string   `json:"system_name" manifest:"required,key"`
	FriendlyName string   `json:"friendly_name,omitempty"`
	Unit         string   `json:"unit,omitempty"`
	Description  string   `json:"description,omitempty"`
	Methods      []Method `json:"methods,omitempty"`
}

// Method is a method: a metric counted in hits too.
type Method struct {
	SystemName   string `json:"system_name" manifest:"required,key"`
	FriendlyName string `json:"friendly_name,omitempty"`
	Unit         string `json:"unit,omitempty"`
	Description  string `json:"description,omitempty"`
}

// MappingRule maps requests to usage of a metric or method of its owner,
// named by system_name.
type MappingRule struct {
	HTTPMethod string `json:"http_method" manifest:"required,oneof=GET HEAD POST PUT DELETE OPTIONS PATCH ANY"`
	Pattern    string `json:"pattern" manifest:"required"`
	Metric     string `json:"metric" manifest:"required,name"`
	Delta      int64  `json:"delta" manifest:"required,min=1"`
	Last       bool   `json:"last,omitempty"`
	// Position orders the rules; 0 puts the rule after those before it.
	Position int64 `json:"position,omitempty" manifest:"min=0"`
}

// BackendUsage mounts a backend, named by system_name, under a path.
type BackendUsage struct {
	Backend string `json:"backend" manifest:"required,key"`
	Path    string `json:"path,omitempty"`
}

// Feature is a feature of a service that its plans enable.
type Feature struct {
	SystemName  string `json:"system_name" manifest:"required,key"`
	Name        string `json:"name" manifest:"required"`
	Description string `json:"description,omitempty"`
	Scope       string `json:"scope,omitempty" manifest:"oneof=application_plan service_plan"`
	Visible     bool   `json:"visible,omitempty"`
}

// Plan is an application plan of a service.
type Plan struct {
	SystemName         string        `json:"system_name" manifest:"required,key"`
	Name               string        `json:"name" manifest:"required"`
	State              string        `json:"state,omitempty" manifest:"oneof=hidden published"`
	Default            bool          `json:"default,omitempty"`
	ApprovalRequired   bool          `json:"approval_required,omitempty"`
	EndUserRequired    bool          `json:"end_user_required,omitempty"`
	SetupFee           Decimal       `json:"setup_fee,omitempty"`
	CostPerMonth       Decimal       `json:"cost_per_month,omitempty"`
	TrialPeriodDays    int64         `json:"trial_period_days,omitempty" manifest:"min=0"`
	CancellationPeriod int64         `json:"cancellation_period,omitempty" manifest:"min=0"`
	Limits             []Limit       `json:"limits,omitempty"`
	PricingRules       []PricingRule `json:"pricing_rules,omitempty"`
	// Features are the system_names of the service's features the plan
	// enables.
	Features []string `json:"features,omitempty" manifest:"name"`
}

// Limit caps a metric's usage per period. Metric names a metric or method
// of the service, or of Backend when set (a backend the service uses).
type Limit struct {
	Metric  string `json:"metric" manifest:"required,name"`
	Backend string `json:"backend,omitempty" manifest:"name"`
	Period  string `json:"period" manifest:"required,oneof=eternity year month week day hour minute"`
	Value   int64  `json:"value" manifest:"given,min=0"`
}

// PricingRule prices a metric's usage from Min to Max (0: no upper bound).
// Metric and Backend name the metric as in Limit.
type PricingRule struct {
	Metric      string  `json:"metric" manifest:"required,name"`
	Backend     string  `json:"backend,omitempty" manifest:"name"`
	CostPerUnit Decimal `json:"cost_per_unit,omitempty"`
	Min         int64   `json:"min" manifest:"required,min=1"`
	Max         int64   `json:"max,omitempty" manifest:"min=0"`
}

// Backend is a 3scale backend API with its metrics, methods and mapping
// rules.
type Backend struct {
	SystemName      string        `json:"system_name" manifest:"required,key"`
	Name            string        `json:"name" manifest:"required"`
	Description     string        `json:"description,omitempty"`
	PrivateEndpoint string        `json:"private_endpoint" manifest:"required"`
	Metrics         []Metric      `json:"metrics,omitempty"`
	MappingRules    []MappingRule `json:"mapping_rules,omitempty"`
}

// Placement serves a service's plans (all of them when none are listed) on
// the instances its selector picks. Service and Plans are system_names.
type Placement struct {
	Name     string   `json:"name" manifest:"required,name"`
	Selector Selector `json:"selector" manifest:"required"`
	Service  string   `json:"service" manifest:"required,name"`
	Plans    []string `json:"plans,omitempty" manifest:"name"`
}

// Selector picks instances by their service name and labels.
type Selector struct {
	Service string            `json:"service" manifest:"required,name"`
	Labels  map[string]string `json:"labels,omitempty"`
}
