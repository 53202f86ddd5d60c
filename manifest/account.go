package manifest

// AccountPlan is one of the provider's account plans, the plans developer
// accounts are on, named by system_name. Account features are not declared
// (FORMAT.md): home keeps those it has.
type AccountPlan struct {
	SystemName         string  `json:"system_name" manifest:"required,key"`
	Name               string  `json:"name" manifest:"required"`
	State              string  `json:"state,omitempty" manifest:"oneof=hidden published"`
	Default            bool    `json:"default,omitempty"`
	ApprovalRequired   bool    `json:"approval_required,omitempty"`
	SetupFee           Decimal `json:"setup_fee,omitempty"`
	CostPerMonth       Decimal `json:"cost_per_month,omitempty"`
	TrialPeriodDays    int64   `json:"trial_period_days,omitempty" manifest:"min=0"`
	CancellationPeriod int64   `json:"cancellation_period,omitempty" manifest:"min=0"`
}

// Account is a developer account, named by its org_name, with its users and
// applications. Its state (approved, pending...) is not declared: events
// drive it.
type Account struct {
	OrgName                string            `json:"org_name" manifest:"required,name"`
	MonthlyBillingEnabled  bool              `json:"monthly_billing_enabled,omitempty"`
	MonthlyChargingEnabled bool              `json:"monthly_charging_enabled,omitempty"`
	VatRate                string            `json:"vat_rate,omitempty"`
	OrgLegalAddress        string            `json:"org_legaladdress,omitempty"`
	OrgLegalAddressCont    string            `json:"org_legaladdress_cont,omitempty"`
	City                   string            `json:"city,omitempty"`
	StateRegion            string            `json:"state_region,omitempty"`
	Country                string            `json:"country,omitempty"`
	Zip                    string            `json:"zip,omitempty"`
	TelephoneNumber        string            `json:"telephone_number,omitempty"`
	VatCode                string            `json:"vat_code,omitempty"`
	FiscalCode             string            `json:"fiscal_code,omitempty"`
	BusinessCategory       string            `json:"business_category,omitempty"`
	PrimaryBusiness        string            `json:"primary_business,omitempty"`
	PoNumber               string            `json:"po_number,omitempty"`
	BillingAddress         map[string]string `json:"billing_address,omitempty"`
	// Plan is the system_name of the account plan the account is on: one
	// the documents declare, else one home has.
	Plan         string        `json:"plan,omitempty" manifest:"name"`
	Users        []User        `json:"users,omitempty"`
	Applications []Application `json:"applications,omitempty"`
}

// User is a user of a developer account. Password is exported only with
// secrets, as the stored hash; a document may give it in plain text.
type User struct {
	Username string `json:"username" manifest:"required,key"`
	Email    string `json:"email,omitempty"`
	Password string `json:"password,omitempty"`
	Role     string `json:"role,omitempty" manifest:"oneof=admin member"`
}

// Application subscribes the account to a service through one of its
// plans, both named by system_name. Its credentials are exported only with
// secrets; without them, home generates new ones.
type Application struct {
	Name            string   `json:"name" manifest:"required"`
	Description     string   `json:"description,omitempty"`
	Service         string   `json:"service" manifest:"required,name"`
	Plan            string   `json:"plan" manifest:"required,name"`
	UserKey         string   `json:"user_key,omitempty"`
	ApplicationID   string   `json:"application_id,omitempty"`
	Keys            []string `json:"keys,omitempty"`
	RedirectURL     string   `json:"redirect_url,omitempty"`
	ReferrerFilters []string `json:"referrer_filters,omitempty"`
}
