package threescale

import (
	"net"
	"net/http"

	"github.com/portolan/portolan/composition"
)

// Provider Account Read: the provider's own account, as porta's
// AccountRepresenter renders a provider. Portolan has one provider and
// keeps no record of it, so its account is made from what is known: id 1
// (the owner of every service), approved, named and addressed after the host
// the API was called on. The notification emails are not kept: empty.

func (a *API) providerRoutes() []Route {
	return []Route{
		{Method: http.MethodGet, Path: "/admin/api/provider", Tag: "Provider Account", Summary: "Provider Account Read",
			Formats: []Format{JSON, XML}, handle: readProvider},
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
	host := c.r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	scheme := "http"
	if c.r.TLS != nil {
		scheme = "https"
	}
	base := scheme + "://" + c.r.Host
	return c.one("account", providerWire{
		ID:          composition.ProviderAccountID,
		AdminDomain: host, Domain: host, AdminBaseURL: base, BaseURL: base,
		State: composition.AccountApproved, OrgName: host,
	})
}
