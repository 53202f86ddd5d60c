package threescale_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Personal notification preferences are the token's user's, as porta's
// current_user's: a provider user's token changes its own, not another
// user's nor the provider's (the tokens of no user).
func TestNotificationPreferencesAreTheTokensUsers(t *testing.T) {
	e := newTokenEnv(t, 0)
	ada := e.userToken(t, "ada", true)
	bob := e.userToken(t, "bob", false)
	const path = "/admin/api/personal/notification_preferences.json"
	status, body := e.call(t, ada, http.MethodPatch, path, url.Values{"account_created": {"false"}})
	require.Equal(t, http.StatusOK, status, body)
	accountCreated := func(token string) bool {
		status, body := e.call(t, token, http.MethodGet, path, nil)
		require.Equal(t, http.StatusOK, status, body)
		var out struct {
			Preferences map[string]bool `json:"notification_preferences"`
		}
		require.NoError(t, json.Unmarshal([]byte(body), &out))
		return out.Preferences["account_created"]
	}
	assert.False(t, accountCreated(ada), "ada's own change")
	assert.True(t, accountCreated(bob), "bob's preferences are his")
	assert.True(t, accountCreated(bootstrapToken), "the provider's preferences are its own")
}
