package threescale

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/portolan/portolan/composition"
)

// Account Set Credit Card and Account Delete Credit Card, as porta's
// Admin::Api::CreditCardsController: a provider that captures cards itself
// hands 3scale the payment gateway's references and the billing address.
// Portolan charges nobody, so a stored card has no effect; of the card it
// keeps only what porta answers (the last digits and the expiry, and that a
// card is stored) and the billing address. It never keeps card numbers,
// nor the gateway's tokens, which only a charge would use.

func (a *API) creditCardRoutes() []Route {
	const path = "/admin/api/accounts/{id}/credit_card"
	formats := []Format{JSON, XML}
	accounts := &collection[composition.Account, *composition.Account]{
		kind:  composition.KindAccount,
		names: fixedNames("account", "accounts"),
		table: accountTable,
	}
	return []Route{
		{Method: http.MethodPut, Path: path, Tag: "Accounts", Summary: "Account Set Credit Card", Formats: formats,
			handle: accounts.change("id", setCreditCard)},
		{Method: http.MethodDelete, Path: path, Tag: "Accounts", Summary: "Account Delete Credit Card", Formats: formats,
			handle: func(c *call) error {
				if _, err := accounts.modify(c, "id", func(_ *composition.Tx, n, _ *composition.Account) error {
					n.CreditCardStored, n.CreditCardPartialNumber, n.CreditCardExpiresOn = false, "", ""
					n.BillingAddress = nil
					return nil
				}); err != nil {
					return err
				}
				return c.empty()
			}},
	}
}

// creditCardRequired are the parameters porta requires, each with the
// attribute porta names when it is missing.
var creditCardRequired = []struct{ param, field string }{
	{"credit_card_token", "credit_card_auth_code"},
	{"billing_address_name", "billing_address_name"},
	{"billing_address_address", "billing_address_address1"},
	{"billing_address_city", "billing_address_city"},
	{"billing_address_country", "billing_address_country"},
	{"credit_card_expiration_year", "credit_card_expiration_year"},
	{"credit_card_expiration_month", "credit_card_expiration_month"},
}

func setCreditCard(c *call, _ *composition.Tx, n, _ *composition.Account) error {
	get := func(k string) string { v, _ := c.params.Get(k); return v }
	for _, r := range creditCardRequired {
		if get(r.param) == "" {
			return composition.Invalid(r.field, "is invalid") // porta's first missing one, without a message
		}
	}
	expires, err := cardExpiry(get("credit_card_expiration_year"), get("credit_card_expiration_month"))
	if err != nil {
		return err
	}
	n.CreditCardStored = true
	n.CreditCardPartialNumber = get("credit_card_partial_number")
	n.CreditCardExpiresOn = expires
	n.BillingAddress = map[string]string{
		"name": get("billing_address_name"), "address1": get("billing_address_address"), "address2": "",
		"city": get("billing_address_city"), "country": get("billing_address_country"),
		"state": get("billing_address_state"), "phone": get("billing_address_phone"), "zip": get("billing_address_zip"),
	}
	return nil
}

// cardExpiry is the card's expiry as porta stores it, the first day of the
// month (2027-05-01); a two-digit year is in this century.
func cardExpiry(year, month string) (string, error) {
	m, err := strconv.Atoi(month)
	if err != nil || m < 1 || m > 12 {
		return "", composition.Invalid("credit_card_expires_on", "is invalid")
	}
	y, err := strconv.Atoi(year)
	if err != nil || y < 0 || y > 9999 {
		return "", composition.Invalid("credit_card_expires_on", "is invalid")
	}
	if y < 100 {
		y += 2000
	}
	return fmt.Sprintf("%04d-%02d-01", y, m), nil
}
