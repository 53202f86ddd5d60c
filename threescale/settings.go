package threescale

import (
	"net/http"
	"slices"

	"github.com/portolan/portolan/composition"
)

// The provider's general settings (3scale's Settings API, JSON only). They
// shape 3scale's developer portal, which Portolan has not: it stores and
// answers them. An update takes 3scale's list of fields, at the top level or
// under settings, ignores empty values and anything else, and refuses
// enforce_sso: Portolan has no SSO integration to enforce.

func (a *API) settingsRoutes() []Route {
	const path = "/admin/api/settings"
	return []Route{
		{Method: http.MethodGet, Path: path, Tag: "Settings", Summary: "Settings Read", handle: showSettings},
		{Method: http.MethodPut, Path: path, Tag: "Settings", Summary: "Settings Update", handle: updateSettings},
	}
}

// settingsView is the settings as 3scale renders them.
type settingsView struct {
	UserAccountAreaEnabled      bool   `json:"useraccountarea_enabled"`
	SignupsEnabled              bool   `json:"signups_enabled"`
	AccountApprovalRequired     bool   `json:"account_approval_required"`
	StrongPasswordsEnabled      bool   `json:"strong_passwords_enabled"`
	PublicSearch                bool   `json:"public_search"`
	AccountPlansUIVisible       bool   `json:"account_plans_ui_visible"`
	ChangeAccountPlanPermission string `json:"change_account_plan_permission"`
	ServicePlansUIVisible       bool   `json:"service_plans_ui_visible"`
	ChangeServicePlanPermission string `json:"change_service_plan_permission"`
	EnforceSSO                  bool   `json:"enforce_sso"`
}

func viewSettings(s *composition.Settings) settingsView {
	return settingsView{
		UserAccountAreaEnabled: s.UserAccountAreaEnabled, SignupsEnabled: s.SignupsEnabled,
		AccountApprovalRequired: s.AccountApprovalRequired, StrongPasswordsEnabled: s.StrongPasswordsEnabled,
		PublicSearch: s.PublicSearch, AccountPlansUIVisible: s.AccountPlansUIVisible,
		ChangeAccountPlanPermission: s.ChangeAccountPlanPermission, ServicePlansUIVisible: s.ServicePlansUIVisible,
		ChangeServicePlanPermission: s.ChangeServicePlanPermission, EnforceSSO: s.EnforceSSO,
	}
}

func showSettings(c *call) error {
	s, _ := c.snapshot().CurrentSettings()
	return c.one("settings", viewSettings(s))
}

func updateSettings(c *call) error {
	var out composition.Settings
	_, err := c.update(func(tx *composition.Tx) error {
		cur, stored := tx.View().CurrentSettings()
		out = *cur
		applySettingsParams(c.params, &out)
		if stored {
			return tx.Update(&out)
		}
		return tx.Create(&out)
	})
	if err != nil {
		return err
	}
	return c.one("settings", viewSettings(&out))
}

// applySettingsParams sets s from the fields 3scale permits, sent at the top
// level or under settings; an empty value changes nothing.
func applySettingsParams(p *Params, s *composition.Settings) {
	get := func(key string) (string, bool) {
		v, ok := p.Get("settings[" + key + "]")
		if !ok {
			v, ok = p.Get(key)
		}
		return v, ok && v != ""
	}
	for key, field := range map[string]*bool{
		"useraccountarea_enabled":   &s.UserAccountAreaEnabled,
		"hide_service":              &s.HideService,
		"signups_enabled":           &s.SignupsEnabled,
		"account_approval_required": &s.AccountApprovalRequired,
		"strong_passwords_enabled":  &s.StrongPasswordsEnabled,
		"public_search":             &s.PublicSearch,
		"account_plans_ui_visible":  &s.AccountPlansUIVisible,
		"service_plans_ui_visible":  &s.ServicePlansUIVisible,
		"enforce_sso":               &s.EnforceSSO,
	} {
		if v, ok := get(key); ok {
			*field = railsBool(v)
		}
	}
	for key, field := range map[string]*string{
		"change_account_plan_permission": &s.ChangeAccountPlanPermission,
		"change_service_plan_permission": &s.ChangeServicePlanPermission,
	} {
		if v, ok := get(key); ok {
			*field = v
		}
	}
}

// railsBool reads a boolean as Rails casts one: false for its false words,
// true for anything else.
func railsBool(v string) bool {
	return !slices.Contains([]string{"0", "f", "F", "false", "FALSE", "off", "OFF"}, v)
}
