package threescale_test

import (
	"net/http"
	"testing"

	"github.com/3scale/3scale-porta-go-client/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// porta's parameters are Rails' request_parameters.merge(query_parameters):
// a name sent both in the query string and in the body takes the query's
// value, whatever the body's format, and a nested name (billing_address[...])
// is replaced as a whole, since the merge is of top-level names.
func TestQueryParameterWinsOverBody(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	product := createProduct(t, cl, "Merged", nil)
	plan := createPlan(t, cl, product, client.Params{"name": "Plan"})
	path := "/admin/api/services/" + s64(product) + "/application_plans/" + s64(plan.ID) + ".json"

	for _, tc := range []struct{ name, contentType, body string }{
		{"form", "application/x-www-form-urlencoded", "name=FromBody&system_name=ignored"},
		{"json", "application/json", `{"name":"FromBody"}`},
		{"xml", "application/xml", "<application_plan><name>FromBody</name></application_plan>"},
	} {
		code, body := rawCall(t, co, http.MethodPut, path+"?name=FromQuery+"+tc.name, tc.contentType, tc.body)
		require.Equal(t, http.StatusOK, code, "%s: %s", tc.name, body)
		assert.Contains(t, string(body), `"name":"FromQuery `+tc.name+`"`, tc.name)
	}

	// A name only in the body is still read.
	code, body := rawCall(t, co, http.MethodPut, path+"?cost_per_month=3", "application/x-www-form-urlencoded", "name=OnlyInBody")
	require.Equal(t, http.StatusOK, code, "%s", body)
	assert.Contains(t, string(body), `"name":"OnlyInBody"`)
	assert.Contains(t, string(body), `"cost_per_month":3.0`)

	acc, err := cl.Signup(client.Params{"org_name": "Buyer", "username": "buyer", "email": "buyer@example.com", "password": "secret"})
	require.NoError(t, err)
	accPath := "/admin/api/accounts/" + s64(*acc.Element.ID) + ".json"
	code, body = rawCall(t, co, http.MethodPut, accPath+"?billing_address%5Bcity%5D=QueryCity", "application/x-www-form-urlencoded",
		"billing_address%5Bcity%5D=BodyCity&billing_address%5Bcountry%5D=BodyCountry&org_name=BodyOrg")
	require.Equal(t, http.StatusOK, code, "%s", body)
	assert.Contains(t, string(body), `"org_name":"BodyOrg"`)
	assert.Contains(t, string(body), `"city":"QueryCity"`)
	assert.NotContains(t, string(body), "BodyCountry", "the query's billing_address replaces the body's")
}
