package threescale_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/3scale/3scale-porta-go-client/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// The official Go client's SetCredentials against the Access Tokens family:
// a client switched to a token made through the API gets exactly that
// token's scope and permission, and loses it when the token is deleted.

// gcToken creates an access token through the API and returns its id and
// value.
func gcToken(t *testing.T, co *testenv.Coordinator, name, permission, scope string) (int64, string) {
	t.Helper()
	var out struct {
		AccessToken struct {
			ID    int64  `json:"id"`
			Value string `json:"value"`
		} `json:"access_token"`
	}
	decodeCall(t, co, http.MethodPost, "/admin/api/personal/access_tokens.json",
		url.Values{"name": {name}, "permission": {permission}, "scopes[]": {scope}}, http.StatusCreated, &out)
	require.NotEmpty(t, out.AccessToken.Value)
	return out.AccessToken.ID, out.AccessToken.Value
}

func TestGoClientSetCredentialsSwitchesToAnAccessToken(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	product := createProduct(t, cl, "News", nil)
	roID, ro := gcToken(t, co, "dashboard", "ro", "account_management")
	_, registry := gcToken(t, co, "policies", "rw", "policy_registry")

	// A read-only Account Management token reads products but writes none,
	// and does not reach the policy registry (another scope).
	cl.SetCredentials(ro)
	read, err := cl.Product(product)
	require.NoError(t, err)
	assert.Equal(t, "News", read.Element.Name)
	_, err = cl.CreateProduct("Other", nil)
	apiErr(t, err, http.StatusForbidden, "permissions")
	_, err = cl.ListAPIcastPolicies()
	apiErr(t, err, http.StatusForbidden)

	// A policy_registry token writes the registry and reads nothing else.
	cl.SetCredentials(registry)
	created, err := cl.CreateAPIcastPolicy(&client.APIcastPolicy{Element: client.APIcastPolicyItem{
		Name: gcStr("gc_policy"), Version: gcStr("0.1"), Schema: gcPolicySchema("gc_policy", "0.1", "Signs requests"),
	}})
	require.NoError(t, err)
	require.NotNil(t, created.Element.ID)
	_, err = cl.ListProducts()
	apiErr(t, err, http.StatusForbidden)

	// An unknown value is denied, as 3scale denies it.
	cl.SetCredentials("not-a-token")
	_, err = cl.ListProducts()
	apiErr(t, err, http.StatusForbidden, "Access denied")

	// Deleting the read-only token stops it at once.
	code, body := formCall(t, co, http.MethodDelete, "/admin/api/personal/access_tokens/"+s64(roID)+".json", nil)
	require.Equal(t, http.StatusOK, code, "%s", body)
	cl.SetCredentials(ro)
	_, err = cl.Product(product)
	apiErr(t, err, http.StatusForbidden, "Access denied")

	// Back on the provider's token, the client writes again.
	cl.SetCredentials(co.Token)
	other := createProduct(t, cl, "Other", nil)
	assert.NotEqual(t, product, other)
	list, err := cl.ListAPIcastPolicies()
	require.NoError(t, err)
	require.Len(t, list.Items, 1)
	assert.Equal(t, "gc_policy", *list.Items[0].Element.Name)
}
