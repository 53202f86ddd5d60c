package threescale_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// porta takes a boolean attribute as ActiveModel::Type::Boolean casts it:
// "0", "f", "false" and "off" (FALSE_VALUES) are false, "1", "t", "true"
// and "on" true. A client sending a checkbox's "on" or a database's "t"
// gets the boolean, not a 422.
func TestBooleanParamsTakePortaSpellings(t *testing.T) {
	co := testenv.StartCoordinator(t)
	svc := co.Create(t, "/admin/api/services.json", "name=Bools&system_name=bools")
	base := "/admin/api/services/" + svc + "/service_plans"
	approval := func(status int, body []byte) bool {
		t.Helper()
		require.Contains(t, []int{http.StatusOK, http.StatusCreated}, status, "%s", body)
		var v spPlanElem
		require.NoError(t, json.Unmarshal(body, &v), "%s", body)
		return v.ServicePlan.ApprovalRequired
	}
	status, body := formCall(t, co, http.MethodPost, base+".json", url.Values{"name": {"Vetted"}, "approval_required": {"on"}})
	assert.True(t, approval(status, body), `"on" is true`)
	var created spPlanElem
	require.NoError(t, json.Unmarshal(body, &created))
	plan := base + "/" + s64(created.ServicePlan.ID) + ".json"
	for _, tc := range []struct {
		in   string
		want bool
	}{{"f", false}, {"t", true}, {"off", false}, {"ON", true}, {"FALSE", false}} {
		status, body = formCall(t, co, http.MethodPut, plan, url.Values{"approval_required": {tc.in}})
		assert.Equal(t, tc.want, approval(status, body), "approval_required=%s", tc.in)
	}
	status, body = formCall(t, co, http.MethodPut, plan, url.Values{"approval_required": {"no"}})
	assert.Contains(t, fieldErrors(t, status, body), "approval_required", `"no" is refused, not taken as Rails' true`)

	// the application plan's default flag is read apart from Bind, the same way
	app := co.Create(t, "/admin/api/services/"+svc+"/application_plans.json", "name=Basic")
	status, body = formCall(t, co, http.MethodPut, "/admin/api/services/"+svc+"/application_plans/"+app+".json",
		url.Values{"default": {"t"}})
	require.Equal(t, http.StatusOK, status, "%s", body)
	var ap struct {
		ApplicationPlan struct {
			Default bool `json:"default"`
		} `json:"application_plan"`
	}
	require.NoError(t, json.Unmarshal(body, &ap), "%s", body)
	assert.True(t, ap.ApplicationPlan.Default, `default=t makes the plan the default`)
}
