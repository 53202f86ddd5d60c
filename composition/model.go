package composition

import (
	"encoding/json"
	"time"
)

// Field tags: `json` is the 3scale wire name (and the storage name); `wire`
// options tell the API layer how to treat the field: ro (never set from request
// parameters), secret (exported only on request), attr (an XML attribute),
// omitempty, and - (never on the wire).

// ProviderAccountID is the id of the provider's own account, the owner of every
// service and backend API. Entity ids start above it.
const ProviderAccountID int64 = 1

// Owner kinds for metrics and mapping rules, which belong either to a service
// (product) or to a backend API.
const (
	OwnerService    = "Service"
	OwnerBackendAPI = "BackendApi"
)

// Service is a 3scale product.
type Service struct {
	ID                          int64     `json:"id" wire:"ro"`
	AccountID                   int64     `json:"account_id" wire:"ro"`
	Name                        string    `json:"name"`
	SystemName                  string    `json:"system_name"`
	Description                 string    `json:"description"`
	State                       string    `json:"state" wire:"ro"`
	DeploymentOption            string    `json:"deployment_option"`
	BackendVersion              string    `json:"backend_version"`
	SupportEmail                string    `json:"support_email"`
	IntentionsRequired          bool      `json:"intentions_required"`
	BuyersManageApps            bool      `json:"buyers_manage_apps"`
	BuyersManageKeys            bool      `json:"buyers_manage_keys"`
	ReferrerFiltersRequired     bool      `json:"referrer_filters_required"`
	CustomKeysEnabled           bool      `json:"custom_keys_enabled"`
	BuyerKeyRegenerateEnabled   bool      `json:"buyer_key_regenerate_enabled"`
	MandatoryAppKey             bool      `json:"mandatory_app_key"`
	BuyerCanSelectPlan          bool      `json:"buyer_can_select_plan"`
	BuyerPlanChangePermission   string    `json:"buyer_plan_change_permission"`
	EndUserRegistrationRequired bool      `json:"end_user_registration_required"`
	CreatedAt                   time.Time `json:"created_at" wire:"ro"`
	UpdatedAt                   time.Time `json:"updated_at" wire:"ro"`

	// AlertLimits are the utilization levels (percent, from AlertLimitValues,
	// ascending, each once) at which the service's applications raise usage
	// alerts: apisonator's alert limits, set through its internal API. None
	// by default, as in 3scale; not part of the Account Management API.
	AlertLimits []int `json:"alert_limits,omitempty" wire:"-"`

	// Managed says the service is owned by the documents an image brought
	// (portolan agent --composition), at which version: nil for a service
	// managed at home. Only that path sets it (an update keeps it); not part
	// of the Account Management API.
	Managed *Managed `json:"managed,omitempty" wire:"-"`
}

// AlertLimitValues are the alert limits a service may enable: apisonator's
// alert bins above 0 (AlertLimitValue of its internal API).
var AlertLimitValues = []int{50, 80, 90, 100, 120, 150, 200, 300}

// Metric is a metric or, when ParentID is set, a method (a child of hits).
// It belongs to a service or a backend API.
type Metric struct {
	ID           int64     `json:"id" wire:"ro"`
	OwnerType    string    `json:"owner_type" wire:"ro"`
	OwnerID      int64     `json:"owner_id" wire:"ro"`
	ParentID     int64     `json:"parent_id" wire:"ro,omitempty"`
	Name         string    `json:"name" wire:"ro"`
	SystemName   string    `json:"system_name"`
	FriendlyName string    `json:"friendly_name"`
	Unit         string    `json:"unit"`
	Description  string    `json:"description"`
	CreatedAt    time.Time `json:"created_at" wire:"ro"`
	UpdatedAt    time.Time `json:"updated_at" wire:"ro"`
}

// IsMethod reports whether the metric is a method.
func (m *Metric) IsMethod() bool { return m.ParentID != 0 }

// MappingRule maps a request (method, path pattern, query) to usage of a metric.
type MappingRule struct {
	ID         int64     `json:"id" wire:"ro"`
	OwnerType  string    `json:"owner_type" wire:"ro"`
	OwnerID    int64     `json:"owner_id" wire:"ro"`
	MetricID   int64     `json:"metric_id"`
	HTTPMethod string    `json:"http_method"`
	Pattern    string    `json:"pattern"`
	Delta      int64     `json:"delta"`
	Position   int64     `json:"position"`
	Last       bool      `json:"last"`
	CreatedAt  time.Time `json:"created_at" wire:"ro"`
	UpdatedAt  time.Time `json:"updated_at" wire:"ro"`
}

// BackendAPI is an upstream API that products use through backend usages.
type BackendAPI struct {
	ID              int64     `json:"id" wire:"ro"`
	AccountID       int64     `json:"account_id" wire:"ro"`
	Name            string    `json:"name"`
	SystemName      string    `json:"system_name"`
	Description     string    `json:"description"`
	PrivateEndpoint string    `json:"private_endpoint"`
	CreatedAt       time.Time `json:"created_at" wire:"ro"`
	UpdatedAt       time.Time `json:"updated_at" wire:"ro"`
}

// BackendUsage mounts a backend API inside a product under a path prefix.
type BackendUsage struct {
	ID           int64     `json:"id" wire:"ro"`
	ServiceID    int64     `json:"service_id" wire:"ro"`
	BackendAPIID int64     `json:"backend_id"`
	Path         string    `json:"path"`
	CreatedAt    time.Time `json:"created_at" wire:"ro,omitempty"`
	UpdatedAt    time.Time `json:"updated_at" wire:"ro,omitempty"`
}

// Plan states.
const (
	PlanHidden    = "hidden"
	PlanPublished = "published"
)

// ApplicationPlan is a plan applications of a service subscribe to. A custom
// plan (Custom) is one application's copy of the plan OriginalID.
type ApplicationPlan struct {
	ID                 int64     `json:"id" wire:"ro"`
	ServiceID          int64     `json:"service_id" wire:"ro"`
	Name               string    `json:"name"`
	SystemName         string    `json:"system_name"`
	State              string    `json:"state" wire:"ro"`
	Default            bool      `json:"default" wire:"ro,attr"`
	Custom             bool      `json:"custom" wire:"ro,attr"`
	OriginalID         int64     `json:"original_id,omitempty" wire:"-"`
	ApprovalRequired   bool      `json:"approval_required"`
	EndUserRequired    bool      `json:"end_user_required"`
	SetupFee           Decimal   `json:"setup_fee"`
	CostPerMonth       Decimal   `json:"cost_per_month"`
	TrialPeriodDays    int64     `json:"trial_period_days"`
	CancellationPeriod int64     `json:"cancellation_period"`
	CreatedAt          time.Time `json:"created_at" wire:"ro"`
	UpdatedAt          time.Time `json:"updated_at" wire:"ro"`
}

// Periods of usage limits, as 3scale names them.
var Periods = []string{"minute", "hour", "day", "week", "month", "year", "eternity"}

// UsageLimit caps a metric's usage over a period for the applications of a plan.
type UsageLimit struct {
	ID        int64     `json:"id" wire:"ro"`
	PlanID    int64     `json:"plan_id" wire:"ro"`
	MetricID  int64     `json:"metric_id" wire:"ro"`
	Period    string    `json:"period"`
	Value     int64     `json:"value"`
	CreatedAt time.Time `json:"created_at" wire:"ro"`
	UpdatedAt time.Time `json:"updated_at" wire:"ro"`
}

// PricingRule prices a metric's usage between Min and Max (0 = no upper bound).
type PricingRule struct {
	ID          int64     `json:"id" wire:"ro"`
	PlanID      int64     `json:"plan_id" wire:"ro"`
	MetricID    int64     `json:"metric_id" wire:"ro"`
	CostPerUnit string    `json:"cost_per_unit"`
	Min         int64     `json:"min"`
	Max         int64     `json:"max"`
	CreatedAt   time.Time `json:"created_at" wire:"ro"`
	UpdatedAt   time.Time `json:"updated_at" wire:"ro"`
}

// Credentials locations of a proxy.
const (
	CredentialsQuery         = "query"
	CredentialsHeaders       = "headers"
	CredentialsAuthorization = "authorization"
)

// PolicyConfig is one policy of a proxy's policy chain.
type PolicyConfig struct {
	Name          string          `json:"name"`
	Version       string          `json:"version"`
	Configuration json.RawMessage `json:"configuration"`
	Enabled       bool            `json:"enabled"`
}

// OIDCConfiguration holds the OAuth flows of an OIDC-authenticated service.
type OIDCConfiguration struct {
	StandardFlowEnabled       bool `json:"standard_flow_enabled"`
	ImplicitFlowEnabled       bool `json:"implicit_flow_enabled"`
	ServiceAccountsEnabled    bool `json:"service_accounts_enabled"`
	DirectAccessGrantsEnabled bool `json:"direct_access_grants_enabled"`
}

// Proxy holds a service's gateway settings; there is exactly one per service and
// it shares the service's id.
type Proxy struct {
	ServiceID                  int64             `json:"service_id" wire:"ro"`
	Endpoint                   string            `json:"endpoint"`
	SandboxEndpoint            string            `json:"sandbox_endpoint"`
	APIBackend                 string            `json:"api_backend"`
	CredentialsLocation        string            `json:"credentials_location"`
	AuthAppKey                 string            `json:"auth_app_key"`
	AuthAppID                  string            `json:"auth_app_id"`
	AuthUserKey                string            `json:"auth_user_key"`
	ErrorAuthFailed            string            `json:"error_auth_failed"`
	ErrorAuthMissing           string            `json:"error_auth_missing"`
	ErrorStatusAuthFailed      int64             `json:"error_status_auth_failed"`
	ErrorHeadersAuthFailed     string            `json:"error_headers_auth_failed"`
	ErrorStatusAuthMissing     int64             `json:"error_status_auth_missing"`
	ErrorHeadersAuthMissing    string            `json:"error_headers_auth_missing"`
	ErrorNoMatch               string            `json:"error_no_match"`
	ErrorStatusNoMatch         int64             `json:"error_status_no_match"`
	ErrorHeadersNoMatch        string            `json:"error_headers_no_match"`
	ErrorLimitsExceeded        string            `json:"error_limits_exceeded"`
	ErrorStatusLimitsExceeded  int64             `json:"error_status_limits_exceeded"`
	ErrorHeadersLimitsExceeded string            `json:"error_headers_limits_exceeded"`
	SecretToken                string            `json:"secret_token" wire:"secret"`
	HostnameRewrite            string            `json:"hostname_rewrite"`
	APITestPath                string            `json:"api_test_path"`
	OIDCIssuerEndpoint         string            `json:"oidc_issuer_endpoint"`
	OIDCIssuerType             string            `json:"oidc_issuer_type"`
	JwtClaimWithClientID       string            `json:"jwt_claim_with_client_id"`
	JwtClaimWithClientIDType   string            `json:"jwt_claim_with_client_id_type"`
	LockVersion                int64             `json:"lock_version" wire:"ro"`
	PolicyChain                []PolicyConfig    `json:"policy_chain" wire:"ro,-"`
	OIDC                       OIDCConfiguration `json:"oidc_configuration" wire:"ro,-"`
	CreatedAt                  time.Time         `json:"created_at" wire:"ro"`
	UpdatedAt                  time.Time         `json:"updated_at" wire:"ro"`
}

// Proxy config environments.
const (
	EnvSandbox    = "sandbox"
	EnvProduction = "production"
)

// ProxyConfig is a deployed, versioned copy of a service's gateway configuration.
type ProxyConfig struct {
	ID          int64           `json:"id" wire:"ro"`
	ServiceID   int64           `json:"service_id" wire:"ro"`
	Environment string          `json:"environment" wire:"ro"`
	Version     int64           `json:"version" wire:"ro"`
	Content     json.RawMessage `json:"content" wire:"ro"`
	CreatedAt   time.Time       `json:"created_at" wire:"ro"`
	UpdatedAt   time.Time       `json:"updated_at" wire:"ro"`
}

// ActiveDoc is an OpenAPI document, optionally bound to a service.
type ActiveDoc struct {
	ID                     int64     `json:"id" wire:"ro"`
	ServiceID              int64     `json:"service_id" wire:"omitempty"`
	Name                   string    `json:"name"`
	SystemName             string    `json:"system_name"`
	Description            string    `json:"description"`
	Published              bool      `json:"published"`
	SkipSwaggerValidations bool      `json:"skip_swagger_validations"`
	Body                   string    `json:"body"`
	CreatedAt              time.Time `json:"created_at" wire:"ro"`
	UpdatedAt              time.Time `json:"updated_at" wire:"ro"`
}

// Account states.
const (
	AccountApproved = "approved"
	AccountPending  = "pending"
)

// Account is a developer (consumer) account.
type Account struct {
	ID                     int64             `json:"id" wire:"ro"`
	OrgName                string            `json:"org_name"`
	State                  string            `json:"state" wire:"ro"`
	CreditCardStored       bool              `json:"credit_card_stored" wire:"ro"`
	MonthlyBillingEnabled  bool              `json:"monthly_billing_enabled"`
	MonthlyChargingEnabled bool              `json:"monthly_charging_enabled"`
	VatRate                string            `json:"vat_rate"`
	OrgLegalAddress        string            `json:"org_legaladdress"`
	OrgLegalAddressCont    string            `json:"org_legaladdress_cont"`
	City                   string            `json:"city"`
	StateRegion            string            `json:"state_region"`
	Country                string            `json:"country"`
	Zip                    string            `json:"zip"`
	TelephoneNumber        string            `json:"telephone_number"`
	VatCode                string            `json:"vat_code"`
	FiscalCode             string            `json:"fiscal_code"`
	BusinessCategory       string            `json:"business_category"`
	PrimaryBusiness        string            `json:"primary_business"`
	PoNumber               string            `json:"po_number"`
	BillingAddress         map[string]string `json:"billing_address" wire:"omitempty"`
	PlanID                 int64             `json:"plan_id,omitempty" wire:"-"` // its account plan; 0 is none
	CreatedAt              time.Time         `json:"created_at" wire:"ro"`
	UpdatedAt              time.Time         `json:"updated_at" wire:"ro"`

	// The stored credit card, as porta answers it: only the last digits and
	// the expiry, set by Account Set Credit Card. Portolan charges nothing:
	// neither card numbers nor the payment gateway's tokens are kept.
	CreditCardPartialNumber string `json:"credit_card_partial_number" wire:"ro,omitempty"`
	CreditCardExpiresOn     string `json:"credit_card_expires_on" wire:"ro,omitempty"`
}

// User roles and states.
const (
	RoleAdmin     = "admin"
	RoleMember    = "member"
	UserPending   = "pending"
	UserActive    = "active"
	UserSuspended = "suspended"
)

// User is a user of a developer account, or of the provider's own account
// (AccountID ProviderAccountID: 3scale's provider users, the admin portal's
// team).
type User struct {
	ID        int64  `json:"id" wire:"ro"`
	AccountID int64  `json:"account_id" wire:"ro"`
	Username  string `json:"username"`
	Email     string `json:"email"`
	Password  string `json:"password" wire:"secret"`
	Role      string `json:"role" wire:"ro"`
	State     string `json:"state" wire:"ro"`
	// AllowedSections and AllowedServiceIDs are a provider member's
	// permissions (3scale's member permissions): the admin portal sections
	// it may use, and the services it may see, nil meaning every service.
	AllowedSections   []string  `json:"allowed_sections,omitempty" wire:"-"`
	AllowedServiceIDs *[]int64  `json:"allowed_service_ids,omitempty" wire:"-"`
	CreatedAt         time.Time `json:"created_at" wire:"ro"`
	UpdatedAt         time.Time `json:"updated_at" wire:"ro"`
}

// Application states.
const (
	AppLive      = "live"
	AppSuspended = "suspended"
	AppPending   = "pending"
)

// Application is a consumer's subscription to a service through a plan, with its
// credentials: a user_key (backend_version 1) or an app_id with app keys (2).
type Application struct {
	ID                      int64     `json:"id" wire:"ro"`
	AccountID               int64     `json:"user_account_id" wire:"ro,string"`
	ServiceID               int64     `json:"service_id" wire:"ro"`
	PlanID                  int64     `json:"plan_id" wire:"ro"`
	State                   string    `json:"state" wire:"ro"`
	Name                    string    `json:"name"`
	Description             string    `json:"description"`
	UserKey                 string    `json:"user_key" wire:"omitempty"`
	AppID                   string    `json:"application_id" wire:"omitempty"`
	AppKeys                 []string  `json:"keys" wire:"ro,omitempty"`
	ProviderVerificationKey string    `json:"provider_verification_key" wire:"ro"`
	EndUserRequired         bool      `json:"end_user_required" wire:"ro"`
	CreatedAt               time.Time `json:"created_at" wire:"ro"`
	UpdatedAt               time.Time `json:"updated_at" wire:"ro"`

	// KeyCreatedAt holds, by key, when each app key added after the
	// application's creation (Application Key Create) was added: porta
	// keeps every key as a record with times of its own. A key without an
	// entry dates from the application's creation (KeyCreated), as do the
	// keys of applications stored before keys had times.
	KeyCreatedAt map[string]time.Time `json:"key_created_at,omitempty" wire:"-"`

	// ReferrerFilters are the domains and IPs the application's calls may
	// come from (Application Referrer Filter Create), at most 5.
	ReferrerFilters []ReferrerFilter `json:"referrer_filters,omitempty" wire:"ro,omitempty"`

	// RedirectURL is where an OAuth application's authorizations return
	// (redirect_url); the OAuth Service Management calls check it.
	RedirectURL string `json:"redirect_url,omitempty" wire:"omitempty"`
}

// KeyCreated returns when key, one of a's app keys, was created.
func (a *Application) KeyCreated(key string) time.Time {
	if t, ok := a.KeyCreatedAt[key]; ok {
		return t
	}
	return a.CreatedAt
}

// ReferrerFilter is one of an application's referrer filters: a domain or IP,
// "*" wildcards allowed. Its id comes from the composition's id sequence.
type ReferrerFilter struct {
	ID        int64     `json:"id"`
	Value     string    `json:"value"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// RegistryPolicy is a custom APIcast policy in the policy registry.
type RegistryPolicy struct {
	ID        int64           `json:"id" wire:"ro"`
	Name      string          `json:"name"`
	Version   string          `json:"version"`
	Schema    json.RawMessage `json:"schema"`
	CreatedAt time.Time       `json:"created_at" wire:"ro"`
	UpdatedAt time.Time       `json:"updated_at" wire:"ro"`
}

// Selector picks instances by their service name and labels.
type Selector struct {
	Service string            `json:"service"`
	Labels  map[string]string `json:"labels,omitempty"`
}

// Placement maps the instances a selector picks to a service and the plans they
// serve (none listed means all of the service's plans).
type Placement struct {
	ID        int64     `json:"id" wire:"ro"`
	Name      string    `json:"name"`
	Selector  Selector  `json:"selector"`
	ServiceID int64     `json:"service_id"`
	PlanIDs   []int64   `json:"plan_ids"`
	CreatedAt time.Time `json:"created_at" wire:"ro"`
	UpdatedAt time.Time `json:"updated_at" wire:"ro"`
}

// Matches reports whether an instance of service with labels is picked:
// every label of the selector, with its value, is among the instance's (a
// label with an empty value too, as a Kubernetes selector's "key=").
func (s Selector) Matches(service string, labels map[string]string) bool {
	if s.Service != service {
		return false
	}
	for k, v := range s.Labels {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}
