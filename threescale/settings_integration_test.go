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

// 3scale's settings of a new provider, as its Settings API answers them.
const defaultSettings = `{"settings":{"useraccountarea_enabled":true,"signups_enabled":true,` +
	`"account_approval_required":false,"strong_passwords_enabled":false,"public_search":false,` +
	`"account_plans_ui_visible":true,"change_account_plan_permission":"request",` +
	`"service_plans_ui_visible":true,"change_service_plan_permission":"request","enforce_sso":false}}`

func TestSettingsReadAndUpdateAs3scale(t *testing.T) {
	co := testenv.StartCoordinator(t)
	get := func() string {
		t.Helper()
		status, body := rawCall(t, co, http.MethodGet, "/admin/api/settings.json", "", "")
		require.Equal(t, http.StatusOK, status, "%s", body)
		return string(body)
	}
	assert.JSONEq(t, defaultSettings, get())

	// An invalid permission refuses the whole update.
	status, body := formCall(t, co, http.MethodPut, "/admin/api/settings.json", url.Values{
		"signups_enabled": {"false"}, "change_account_plan_permission": {"invalid"}, "change_service_plan_permission": {"invalid"},
	})
	errs := fieldErrors(t, status, body)
	assert.Equal(t, []string{"is not included in the list"}, errs["change_account_plan_permission"])
	assert.Equal(t, []string{"is not included in the list"}, errs["change_service_plan_permission"])
	assert.JSONEq(t, defaultSettings, get(), "nothing changed")

	status, body = formCall(t, co, http.MethodPut, "/admin/api/settings.json", url.Values{
		"signups_enabled": {"false"}, "change_account_plan_permission": {"direct"}, "change_service_plan_permission": {"none"},
		"public_search": {""}, // empty: ignored
		"hide_service":  {"1"}, "not_a_setting": {"x"},
	})
	require.Equal(t, http.StatusOK, status, "%s", body)
	var got map[string]map[string]any
	require.NoError(t, json.Unmarshal(body, &got))
	assert.Equal(t, false, got["settings"]["signups_enabled"])
	assert.Equal(t, "direct", got["settings"]["change_account_plan_permission"])
	assert.Equal(t, "none", got["settings"]["change_service_plan_permission"])
	assert.NotContains(t, got["settings"], "hide_service", "3scale stores it and does not show it")
	assert.JSONEq(t, string(body), get())

	// Nested under settings, as a JSON body.
	status, body = rawCall(t, co, http.MethodPut, "/admin/api/settings.json", "application/json",
		`{"settings":{"account_approval_required":true,"public_search":true}}`)
	require.Equal(t, http.StatusOK, status, "%s", body)
	require.NoError(t, json.Unmarshal(body, &got))
	assert.Equal(t, true, got["settings"]["account_approval_required"])
	assert.Equal(t, true, got["settings"]["public_search"])
	assert.Equal(t, false, got["settings"]["signups_enabled"], "kept from the last update")

	// enforce_sso needs a published SSO integration, which Portolan has not.
	status, body = formCall(t, co, http.MethodPut, "/admin/api/settings.json", url.Values{"enforce_sso": {"true"}})
	assert.Equal(t, []string{"Password-based authentication could not be disabled. No published authentication providers."},
		fieldErrors(t, status, body)["enforce_sso"])
	status, body = formCall(t, co, http.MethodPut, "/admin/api/settings.json", url.Values{"enforce_sso": {"false"}})
	require.Equal(t, http.StatusOK, status, "%s", body)

	// Kept across a restart.
	co.Stop()
	co.Start()
	require.NoError(t, json.Unmarshal([]byte(get()), &got))
	assert.Equal(t, true, got["settings"]["account_approval_required"])
	assert.Equal(t, "none", got["settings"]["change_service_plan_permission"])

	// JSON only, as 3scale.
	status, _ = rawCall(t, co, http.MethodGet, "/admin/api/settings.xml", "", "")
	assert.Equal(t, http.StatusNotFound, status)
}
