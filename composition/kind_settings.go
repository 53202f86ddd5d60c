package composition

import (
	"slices"
	"time"
)

// KindSettings is the kind of the provider's general settings (3scale's
// Settings API).
const KindSettings Kind = "settings"

// The plan change permissions 3scale offers developers.
var planChangePermissions = []string{"request", "direct", "credit_card", "request_credit_card", "none"}

// Settings are the provider account's general settings, as 3scale keeps
// them. They shape 3scale's developer portal, which Portolan has not: it
// stores and answers them. The composition holds none until the first
// update (CurrentSettings gives 3scale's defaults until then); an import
// adds the document's, and the newest wins.
type Settings struct {
	ID                          int64     `json:"id" wire:"-"`
	UserAccountAreaEnabled      bool      `json:"useraccountarea_enabled"`
	HideService                 bool      `json:"hide_service"`
	SignupsEnabled              bool      `json:"signups_enabled"`
	AccountApprovalRequired     bool      `json:"account_approval_required"`
	StrongPasswordsEnabled      bool      `json:"strong_passwords_enabled"`
	PublicSearch                bool      `json:"public_search"`
	AccountPlansUIVisible       bool      `json:"account_plans_ui_visible"`
	ChangeAccountPlanPermission string    `json:"change_account_plan_permission"`
	ServicePlansUIVisible       bool      `json:"service_plans_ui_visible"`
	ChangeServicePlanPermission string    `json:"change_service_plan_permission"`
	EnforceSSO                  bool      `json:"enforce_sso"`
	CreatedAt                   time.Time `json:"created_at" wire:"-"`
	UpdatedAt                   time.Time `json:"updated_at" wire:"-"`

	// The provider account's own fields (Provider Account Update): its
	// notification senders and the developer portal's access code. Portolan
	// sends no email and has no portal: it stores and answers them.
	FromEmail           string `json:"from_email"`
	SupportEmail        string `json:"support_email"`
	FinanceSupportEmail string `json:"finance_support_email"`
	SiteAccessCode      string `json:"site_access_code"`
}

// DefaultSettings are a new provider's settings in 3scale.
func DefaultSettings() *Settings {
	return &Settings{
		UserAccountAreaEnabled: true, SignupsEnabled: true,
		AccountPlansUIVisible: true, ChangeAccountPlanPermission: "request",
		ServicePlansUIVisible: true, ChangeServicePlanPermission: "request",
	}
}

// CurrentSettings returns the provider's settings: the newest stored, else
// a copy of DefaultSettings (stored false).
func (c *Composition) CurrentSettings() (s *Settings, stored bool) {
	all := c.Settings.All()
	if len(all) == 0 {
		return DefaultSettings(), false
	}
	return all[len(all)-1], true
}

// ErrEnforceSSO is 3scale's refusal of enforce_sso without a published
// admin portal SSO integration, which Portolan never has.
const ErrEnforceSSO = "Password-based authentication could not be disabled. No published authentication providers."

func (e *Settings) Key() int64 { return e.ID }
func (e *Settings) stamp(id int64, c, u time.Time) {
	e.ID, e.CreatedAt, e.UpdatedAt = id, c, u
}
func (e *Settings) created() time.Time { return e.CreatedAt }
func (*Settings) info() kindInfo       { return settingsDef }

// Settings: the plan change permissions among 3scale's, and no enforced SSO.
var settingsDef = &kindDef[Settings, *Settings]{
	Kind:     KindSettings,
	Table:    func(c *Composition) *Table[*Settings] { return &c.Settings },
	Document: func(d *Document) *[]*Settings { return &d.Settings },
	Validate: func(_ *Composition, s *Settings, v *ValidationError) error {
		if !slices.Contains(planChangePermissions, s.ChangeAccountPlanPermission) {
			v.Add("change_account_plan_permission", notIncluded)
		}
		if !slices.Contains(planChangePermissions, s.ChangeServicePlanPermission) {
			v.Add("change_service_plan_permission", notIncluded)
		}
		if s.EnforceSSO {
			v.Add("enforce_sso", ErrEnforceSSO)
		}
		return nil
	},
}
