package threescale

import (
	"net/http"

	"github.com/portolan/portolan/composition"
)

// Provider Account Read: the provider's own account, as porta's
// AccountRepresenter renders a provider. Portolan has one provider and
// keeps no record of it, so its account is made from what is known: id 1
// (the owner of every service), approved, named and addressed after the host
// the API was called on. Its notification emails and site access code are
// kept with the provider's settings (Provider Account Update changes them,
// porta's four permitted fields); Portolan sends no email and has no
// developer portal to guard, so they have no effect.

func (a *API) providerRoutes() []Route {
	return []Route{
		{Method: http.MethodGet, Path: "/admin/api/provider", Tag: "Provider Account", Summary: "Provider Account Read",
			Formats: []Format{JSON, XML}, handle: readProvider},
		{Method: http.MethodPut, Path: "/admin/api/provider", Tag: "Provider Account", Summary: "Provider Account Update",
			Formats: []Format{JSON, XML}, handle: unwrapped("account", updateProvider)},
	}
}

// providerWire is the provider account in porta's order.
type providerWire struct {
	ID                     int64  `json:"id"`
	AdminDomain            string `json:"admin_domain"`
	Domain                 string `json:"domain"`
	AdminBaseURL           string `json:"admin_base_url"`
	BaseURL                string `json:"base_url"`
	FromEmail              string `json:"from_email"`
	SupportEmail           string `json:"support_email"`
	FinanceSupportEmail    string `json:"finance_support_email"`
	SiteAccessCode         string `json:"site_access_code"`
	CreditCardStored       bool   `json:"credit_card_stored"`
	MonthlyBillingEnabled  bool   `json:"monthly_billing_enabled"`
	MonthlyChargingEnabled bool   `json:"monthly_charging_enabled"`
	State                  string `json:"state"`
	OrgName                string `json:"org_name"`
}

func readProvider(c *call) error {
	s, _ := c.snapshot().CurrentSettings()
	return writeProvider(c, s)
}

// updateProvider sets the provider's from_email, support_email,
// finance_support_email and site_access_code; porta ignores everything else.
func updateProvider(c *call) error {
	var out composition.Settings
	_, err := c.update(func(tx *composition.Tx) error {
		cur, stored := tx.View().CurrentSettings()
		out = *cur
		for key, field := range map[string]*string{
			"from_email": &out.FromEmail, "support_email": &out.SupportEmail,
			"finance_support_email": &out.FinanceSupportEmail, "site_access_code": &out.SiteAccessCode,
		} {
			if v, ok := c.params.Get(key); ok {
				*field = v
			}
		}
		if stored {
			return tx.Update(&out)
		}
		return tx.Create(&out)
	})
	if err != nil {
		return err
	}
	return writeProvider(c, &out)
}

func writeProvider(c *call, s *composition.Settings) error {
	b := c.base()
	host, base := b.Hostname(), b.String()
	return c.one("account", providerWire{
		ID:          composition.ProviderAccountID,
		AdminDomain: host, Domain: host, AdminBaseURL: base, BaseURL: base,
		FromEmail: s.FromEmail, SupportEmail: s.SupportEmail, FinanceSupportEmail: s.FinanceSupportEmail,
		SiteAccessCode: s.SiteAccessCode,
		State:          composition.AccountApproved, OrgName: host,
	})
}
