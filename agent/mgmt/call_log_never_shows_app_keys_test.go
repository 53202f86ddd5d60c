package mgmt

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// 3scale's "Application Key Delete" names the key in the path:
// DELETE /admin/api/accounts/{account_id}/applications/{application_id}/keys/{key}.xml
// ("key": "app_key to be deleted.", in: path; account_management_api.json).
// The proxy logs each call (debug, or warn on a 5xx) with its path, and the
// trust model (DESIGN.md "Trust") wants no application key in any log line,
// debug included: the key is not logged, whether the call was forwarded or
// refused.
func TestCallLogNeverShowsApplicationKeys(t *testing.T) {
	co := testenv.StartCoordinator(t)
	svc := co.Create(t, "/admin/api/services.json", "name=Keys&backend_version=2")
	plan := co.Create(t, "/admin/api/services/"+svc+"/application_plans.json", "name=Basic")
	acct := co.Create(t, "/admin/api/signup.json", "org_name=Acme&username=alice&email=alice@example.com")
	const kept, deleted, omitted = "SECRETappkeyKept1", "SECRETappkeyDel2", "SECRETappkeyOmit3"
	app := co.Create(t, "/admin/api/accounts/"+acct+"/applications.json", "plan_id="+plan+"&name=App&application_id=appid1234&application_key="+kept)
	co.Create(t, "/admin/api/accounts/"+acct+"/applications/"+app+"/keys.json", "key="+deleted)

	env := startProxy(t, co.URL, co.Token, Config{Include: []string{"tag:Account Applications"}})
	keys := env.url + "/admin/api/accounts/" + acct + "/applications/" + app + "/keys/"
	resp, body := call(t, "DELETE", keys+deleted+".json", "", "")
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)

	// Refused by the selection: logged too, with the path as sent.
	omit := startProxy(t, co.URL, co.Token, Config{Include: []string{"tag:Account Applications"},
		Omit: []string{"DELETE /admin/api/accounts/*/applications/*/keys/*"}})
	resp, body = call(t, "DELETE", omit.url+"/admin/api/accounts/"+acct+"/applications/"+app+"/keys/"+omitted+".json", "", "")
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "%s", body)

	for _, logs := range []string{env.logs.String(), omit.logs.String()} {
		assert.Contains(t, logs, "management call", "the call is logged")
		for _, k := range []string{kept, deleted, omitted} {
			assert.NotContains(t, logs, k, "the proxy's log holds an application key")
		}
	}
}
