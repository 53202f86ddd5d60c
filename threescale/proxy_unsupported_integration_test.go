package threescale_test

import (
	"net/http"
	"testing"

	"github.com/3scale/3scale-porta-go-client/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

func TestUnsupportedCallsIntegration(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	master := func(err error) {
		t.Helper()
		apiErr(t, err, http.StatusNotFound, "Master API (tenants) is not supported")
	}
	_, err := cl.CreateTenant("Org", "admin", "admin@example.com", "secret")
	master(err)
	_, err = cl.ShowTenant(3)
	master(err)
	_, err = cl.UpdateTenant(3, client.Params{"org_name": "x"})
	master(err)
	master(cl.DeleteTenant(3))

	endUser := func(err error) {
		t.Helper()
		apiErr(t, err, http.StatusNotFound, "end user plans are not supported")
	}
	_, err = cl.ListLimitsPerEndUserPlan("1", "2")
	endUser(err)
	_, err = cl.CreateLimitEndUserPlan("1", "2", "day", 10)
	endUser(err)
	_, err = cl.UpdateLimitPerEndUserPlan("1", "2", "3", client.Params{"value": "5"})
	endUser(err)
	endUser(cl.DeleteLimitPerEndUserPlan("1", "2", "3"))

	status, body := rawCall(t, co, http.MethodGet, "/master/api/providers/3.json", "", "")
	assert.Equal(t, http.StatusNotFound, status)
	assert.JSONEq(t, `{"status":"Not found","error":"the Master API (tenants) is not supported by Portolan"}`, string(body))
	status, body = rawCall(t, co, http.MethodPost, "/master/api/providers/3/billing_jobs.xml", "", "")
	assert.Equal(t, http.StatusNotFound, status)
	assert.Contains(t, string(body), "<error>the Master API (tenants) is not supported by Portolan</error>")
	// Still behind the token.
	resp, err := http.Get(co.URL + "/master/api/providers/3.json")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
}
