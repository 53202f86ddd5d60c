package threescale_test

import (
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// Credit card, messages and the provider account update: stored and
// answered as 3scale does, with no other effect in Portolan.

func newDeveloperAccount(t *testing.T, co *testenv.Coordinator) int64 {
	t.Helper()
	var acc map[string]struct {
		ID int64 `json:"id"`
	}
	decodeCall(t, co, http.MethodPost, "/admin/api/signup.json", url.Values{"org_name": {"Acme"}, "username": {"alice"}},
		http.StatusCreated, &acc)
	return acc["account"].ID
}

func TestAccountCreditCardSetAndDeleteAs3scale(t *testing.T) {
	co := testenv.StartCoordinator(t)
	id := newDeveloperAccount(t, co)
	path := "/admin/api/accounts/" + s64(id) + "/credit_card.json"
	card := url.Values{
		"credit_card_token": {"cus_123"}, "credit_card_expiration_year": {"27"}, "credit_card_expiration_month": {"05"},
		"billing_address_name": {"Acme Ltd"}, "billing_address_address": {"1 Main St"}, "billing_address_city": {"Paris"},
		"billing_address_country": {"France"}, "billing_address_zip": {"75001"}, "credit_card_partial_number": {"4242"},
	}

	// porta names the first required parameter missing, by its attribute.
	missing := url.Values{}
	for k, v := range card {
		missing[k] = v
	}
	missing.Del("credit_card_token")
	status, body := formCall(t, co, http.MethodPut, path, missing)
	assert.Equal(t, []string{"is invalid"}, fieldErrors(t, status, body)["credit_card_auth_code"])
	bad := url.Values{}
	for k, v := range card {
		bad[k] = v
	}
	bad.Set("credit_card_expiration_month", "13")
	status, body = formCall(t, co, http.MethodPut, path, bad)
	assert.Equal(t, []string{"is invalid"}, fieldErrors(t, status, body)["credit_card_expires_on"])

	var got map[string]map[string]any
	decodeCall(t, co, http.MethodPut, path, card, http.StatusOK, &got)
	acc := got["account"]
	assert.Equal(t, true, acc["credit_card_stored"])
	assert.Equal(t, "4242", acc["credit_card_partial_number"])
	assert.Equal(t, "2027-05-01", acc["credit_card_expires_on"])
	assert.Equal(t, "Paris", acc["billing_address"].(map[string]any)["city"])
	assert.Equal(t, "1 Main St", acc["billing_address"].(map[string]any)["address1"])
	assert.NotContains(t, string(mustJSON(t, acc)), "cus_123", "the gateway token is not kept")

	// Read back, also in XML.
	status, body = rawCall(t, co, http.MethodGet, "/admin/api/accounts/"+s64(id)+".xml", "", "")
	require.Equal(t, http.StatusOK, status, "%s", body)
	var x struct {
		Stored  bool   `xml:"credit_card_stored"`
		Partial string `xml:"credit_card_partial_number"`
		Expires string `xml:"credit_card_expires_on"`
	}
	require.NoError(t, xml.Unmarshal(body, &x), "%s", body)
	assert.Equal(t, true, x.Stored)
	assert.Equal(t, "4242", x.Partial)
	assert.Equal(t, "2027-05-01", x.Expires)

	// Delete: 200, no body; the card and billing address are gone.
	status, body = rawCall(t, co, http.MethodDelete, path, "", "")
	require.Equal(t, http.StatusOK, status, "%s", body)
	assert.Empty(t, body)
	decodeCall(t, co, http.MethodGet, "/admin/api/accounts/"+s64(id)+".json", nil, http.StatusOK, &got)
	assert.Equal(t, false, got["account"]["credit_card_stored"])
	assert.NotContains(t, got["account"], "credit_card_partial_number")
	assert.NotContains(t, got["account"], "credit_card_expires_on")
	assert.NotContains(t, got["account"], "billing_address")

	status, _ = formCall(t, co, http.MethodPut, "/admin/api/accounts/999999/credit_card.json", card)
	assert.Equal(t, http.StatusNotFound, status)
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

func TestAccountMessageIsStoredAsSent(t *testing.T) {
	co := testenv.StartCoordinator(t)
	id := newDeveloperAccount(t, co)
	path := "/admin/api/accounts/" + s64(id) + "/messages"

	var got map[string]map[string]any
	decodeCall(t, co, http.MethodPost, path+".json", url.Values{"subject": {"Welcome"}, "body": {"Hello, Acme"}}, http.StatusCreated, &got)
	m := got["message"]
	assert.Equal(t, "Welcome", m["subject"])
	assert.Equal(t, "Hello, Acme", m["body"])
	assert.Equal(t, "sent", m["state"])
	assert.NotZero(t, m["id"])
	recentTime(t, m["created_at"].(string))

	// XML, wrapped as porta accepts it.
	status, body := formCall(t, co, http.MethodPost, path+".xml", url.Values{"message[subject]": {"Second"}, "message[body]": {"B"}})
	require.Equal(t, http.StatusCreated, status, "%s", body)
	var x struct {
		XMLName xml.Name `xml:"message"`
		Subject string   `xml:"subject"`
		State   string   `xml:"state"`
	}
	require.NoError(t, xml.Unmarshal(body, &x), "%s", body)
	assert.Equal(t, "Second", x.Subject)
	assert.Equal(t, "sent", x.State)

	status, _ = formCall(t, co, http.MethodPost, "/admin/api/accounts/999999/messages.json", url.Values{"subject": {"x"}})
	assert.Equal(t, http.StatusNotFound, status)

	// The messages go with their account.
	status, body = rawCall(t, co, http.MethodDelete, "/admin/api/accounts/"+s64(id)+".json", "", "")
	require.Equal(t, http.StatusOK, status, "%s", body)
}

func TestProviderAccountUpdateAs3scale(t *testing.T) {
	co := testenv.StartCoordinator(t)
	var got map[string]map[string]any
	decodeCall(t, co, http.MethodPut, "/admin/api/provider.json", url.Values{
		"from_email": {"no-reply@acme.example"}, "support_email": {"help@acme.example"},
		"finance_support_email": {"billing@acme.example"}, "site_access_code": {"letmein"},
		"org_name": {"ignored"}, // porta permits only the four
	}, http.StatusOK, &got)
	acc := got["account"]
	assert.Equal(t, "no-reply@acme.example", acc["from_email"])
	assert.Equal(t, "help@acme.example", acc["support_email"])
	assert.Equal(t, "billing@acme.example", acc["finance_support_email"])
	assert.Equal(t, "letmein", acc["site_access_code"])
	assert.NotEqual(t, "ignored", acc["org_name"])

	// Wrapped in account, as a JSON body; the rest is kept.
	status, body := rawCall(t, co, http.MethodPut, "/admin/api/provider.json", "application/json",
		`{"account":{"support_email":"support@acme.example"}}`)
	require.Equal(t, http.StatusOK, status, "%s", body)

	co.Stop()
	co.Start()
	status, body = rawCall(t, co, http.MethodGet, "/admin/api/provider.xml", "", "")
	require.Equal(t, http.StatusOK, status, "%s", body)
	assert.True(t, strings.Contains(string(body), "<support_email>support@acme.example</support_email>"), "%s", body)
	assert.True(t, strings.Contains(string(body), "<from_email>no-reply@acme.example</from_email>"), "%s", body)

	// The settings are untouched by it.
	status, body = rawCall(t, co, http.MethodGet, "/admin/api/settings.json", "", "")
	require.Equal(t, http.StatusOK, status)
	assert.JSONEq(t, defaultSettings, string(body))
}
