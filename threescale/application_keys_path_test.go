package threescale_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An app key may hold any printable ASCII, "/" included (base64 keys do):
// its value percent-encoded in the path deletes it, the encoded "/" being
// part of the key and no separator.
func TestAppKeyWithSlashIsDeletedByItsEscapedValue(t *testing.T) {
	e := newTokenEnv(t, 0)
	created := func(path string, form url.Values, v any) {
		t.Helper()
		status, body := e.call(t, bootstrapToken, http.MethodPost, path, form)
		require.Equal(t, http.StatusCreated, status, body)
		require.NoError(t, json.Unmarshal([]byte(body), v))
	}
	var svc struct {
		Service struct {
			ID int64 `json:"id"`
		} `json:"service"`
	}
	created("/admin/api/services.json", url.Values{"name": {"Svc"}, "backend_version": {"2"}}, &svc)
	var plan struct {
		Plan struct {
			ID int64 `json:"id"`
		} `json:"application_plan"`
	}
	created("/admin/api/services/"+itoa(svc.Service.ID)+"/application_plans.json", url.Values{"name": {"Basic"}}, &plan)
	account, _ := e.signup(t, "Acme", "acme", url.Values{"application_plan_id": {itoa(plan.Plan.ID)}})
	apps := "/admin/api/accounts/" + itoa(account) + "/applications"
	var app struct {
		Application struct {
			ID int64 `json:"id"`
		} `json:"application"`
	}
	created(apps+".json", url.Values{"plan_id": {itoa(plan.Plan.ID)}}, &app)
	keys := apps + "/" + itoa(app.Application.ID) + "/keys"

	const key = "ab/cd+ef=="
	created(keys+".json", url.Values{"key": {key}}, &struct{}{})
	status, body := e.call(t, bootstrapToken, http.MethodDelete, keys+"/"+url.PathEscape(key)+".json", nil)
	assert.Equal(t, http.StatusOK, status, body)
	stored, _ := e.store.Snapshot().Applications.Get(app.Application.ID)
	assert.NotContains(t, stored.AppKeys, key)
	status, _ = e.call(t, bootstrapToken, http.MethodDelete, keys+"/ab/cd+ef==.json", nil)
	assert.Equal(t, http.StatusNotFound, status, "an unescaped slash separates segments")
}
