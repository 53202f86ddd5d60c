package coordinator_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/3scale/3scale-porta-go-client/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// Some of porta's controllers name two scopes, and a token holding either
// may call them (ApiAuthentication::ByAccessToken#verify_access_token_scopes
// refuses only when the token shares none with the controller's):
// Admin::Api::Services::Proxy::PoliciesController takes policy_registry or
// account_management, so a CI job or the 3scale operator with a
// policy_registry token reads and saves a product's policy chain; and
// Admin::Api::CreditCardsController takes finance or account_management.
// A token with neither is still refused.
func TestAccessTokenWithEitherOfAControllersScopes(t *testing.T) {
	testenv.SkipShort(t)
	const boot = "bootstrap-0123456789abcdef"
	addr, _, _ := startCoordinator(t, "--data-dir", t.TempDir(), "--access-token", boot)
	base := "http://" + addr
	create := func(name string, scopes ...string) string {
		code, body := status(t, http.MethodPost, base+"/admin/api/personal/access_tokens.json", boot,
			url.Values{"name": {name}, "permission": {"rw"}, "scopes[]": scopes})
		require.Equal(t, http.StatusCreated, code, body)
		var v struct {
			AccessToken struct {
				Value string `json:"value"`
			} `json:"access_token"`
		}
		require.NoError(t, json.Unmarshal([]byte(body), &v))
		return v.AccessToken.Value
	}
	registry := create("policies", "policy_registry")
	finance := create("billing", "finance")
	stats := create("grafana", "stats")

	portal, err := client.NewAdminPortalFromStr(base)
	require.NoError(t, err)
	threescale := func(token string) *client.ThreeScaleClient {
		return client.NewThreeScale(portal, token, &http.Client{Timeout: 30 * time.Second})
	}
	product, err := threescale(boot).CreateProduct("Echo", client.Params{"system_name": "echo"})
	require.NoError(t, err)
	id := product.Element.ID

	chain, err := threescale(registry).Policies(id)
	require.NoError(t, err, "a policy_registry token reads the policy chain, as in porta")
	chain.Policies = append(chain.Policies, client.PolicyConfig{
		Name: "cors", Version: "builtin", Enabled: true, Configuration: map[string]any{},
	})
	saved, err := threescale(registry).UpdatePolicies(id, chain)
	require.NoError(t, err, "a policy_registry rw token saves the policy chain, as in porta")
	names := make([]string, len(saved.Policies))
	for i, p := range saved.Policies {
		names[i] = p.Name
	}
	assert.Contains(t, names, "cors")
	_, err = threescale(stats).Policies(id)
	require.Error(t, err, "a token with neither scope is refused")

	account, err := threescale(boot).Signup(client.Params{"org_name": "Buyer", "username": "buyer", "email": "buyer@example.com"})
	require.NoError(t, err)
	require.NotNil(t, account.Element.ID)
	card := base + "/admin/api/accounts/" + strconv.FormatInt(*account.Element.ID, 10) + "/credit_card.json"
	form := url.Values{
		"credit_card_token": {"tok_1"}, "billing_address_name": {"Buyer"}, "billing_address_address": {"1 Main St"},
		"billing_address_city": {"Springfield"}, "billing_address_country": {"US"},
		"credit_card_expiration_year": {"30"}, "credit_card_expiration_month": {"12"},
	}
	code, body := status(t, http.MethodPut, card, finance, form)
	assert.Equal(t, http.StatusOK, code, "a finance token sets a credit card, as in porta: %s", body)
	code, _ = status(t, http.MethodPut, card, stats, form)
	assert.Equal(t, http.StatusForbidden, code, "a token with neither scope is refused")
}
