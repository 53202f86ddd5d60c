package threescale_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

func TestNotificationPreferencesAs3scale(t *testing.T) {
	co := testenv.StartCoordinator(t)
	const path = "/admin/api/personal/notification_preferences.json"
	type prefs struct {
		NotificationPreferences map[string]bool `json:"notification_preferences"`
	}
	var p prefs
	decodeCall(t, co, http.MethodGet, path, nil, http.StatusOK, &p)
	assert.Len(t, p.NotificationPreferences, 25, "every notification of 3scale's API")
	assert.False(t, p.NotificationPreferences["daily_report"], "reports are off by default")
	assert.False(t, p.NotificationPreferences["weekly_report"])
	assert.True(t, p.NotificationPreferences["account_created"], "the rest on")
	assert.True(t, p.NotificationPreferences["limit_violation_reached_provider"])

	decodeCall(t, co, http.MethodPatch, path, url.Values{"weekly_report": {"true"}, "account_created": {"false"},
		"not_a_notification": {"true"}}, http.StatusOK, &p)
	assert.True(t, p.NotificationPreferences["weekly_report"])
	assert.False(t, p.NotificationPreferences["account_created"])
	assert.NotContains(t, p.NotificationPreferences, "not_a_notification", "3scale permits only its notifications")
	var again prefs
	decodeCall(t, co, http.MethodGet, path, nil, http.StatusOK, &again)
	assert.Equal(t, p, again, "stored")

	// A JSON body wrapped in notification_preferences changes only what it names.
	status, body := rawCall(t, co, http.MethodPatch, path, "application/json", `{"notification_preferences":{"daily_report":true}}`)
	require.Equal(t, http.StatusOK, status, "%s", body)
	decodeCall(t, co, http.MethodGet, path, nil, http.StatusOK, &p)
	assert.True(t, p.NotificationPreferences["daily_report"])
	assert.True(t, p.NotificationPreferences["weekly_report"])
	assert.False(t, p.NotificationPreferences["account_created"])

	status, body = formCall(t, co, http.MethodPatch, path, url.Values{"daily_report": {"maybe"}})
	assert.Contains(t, fieldErrors(t, status, body), "daily_report")

	// JSON only.
	status, _ = formCall(t, co, http.MethodGet, "/admin/api/personal/notification_preferences.xml", nil)
	assert.Equal(t, http.StatusNotFound, status)
}
