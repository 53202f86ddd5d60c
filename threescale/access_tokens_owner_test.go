package threescale_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// userToken makes provider user username (an admin when admin, else a
// member with the partners section) and an rw account_management token of
// its own, and returns the token's value.
func (e *tokenEnv) userToken(t *testing.T, username string, admin bool) string {
	t.Helper()
	status, body := e.call(t, bootstrapToken, http.MethodPost, "/admin/api/users.json",
		url.Values{"username": {username}, "email": {username + "@provider.example"}})
	require.Equal(t, http.StatusCreated, status, body)
	var u struct {
		User struct {
			ID int64 `json:"id"`
		} `json:"user"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &u))
	id := itoa(u.User.ID)
	if admin {
		status, body = e.call(t, bootstrapToken, http.MethodPut, "/admin/api/users/"+id+"/admin.json", nil)
	} else {
		status, body = e.call(t, bootstrapToken, http.MethodPut, "/admin/api/users/"+id+"/permissions.json",
			url.Values{"allowed_sections[]": {"partners"}})
	}
	require.Equal(t, http.StatusOK, status, body)
	status, body = e.call(t, bootstrapToken, http.MethodPost, "/admin/api/users/"+id+"/access_tokens.json",
		url.Values{"name": {username}, "permission": {"rw"}, "scopes[]": {"account_management"}})
	require.Equal(t, http.StatusCreated, status, body)
	var tok struct {
		AccessToken struct {
			Value string `json:"value"`
		} `json:"access_token"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &tok))
	return tok.AccessToken.Value
}

// tokenNames lists the personal tokens token sees.
func (e *tokenEnv) tokenNames(t *testing.T, token string) []string {
	t.Helper()
	status, body := e.call(t, token, http.MethodGet, "/admin/api/personal/access_tokens.json", nil)
	require.Equal(t, http.StatusOK, status, body)
	var list struct {
		Tokens []struct {
			AccessToken struct {
				Name string `json:"name"`
			} `json:"access_token"`
		} `json:"access_tokens"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &list))
	var names []string
	for _, tok := range list.Tokens {
		names = append(names, tok.AccessToken.Name)
	}
	return names
}

// As porta's current_user.access_tokens: an admin user's token lists,
// reads and deletes its own user's personal tokens only; the bootstrap
// token, of no user, still reaches every token.
func TestAdminUserTokenSeesOnlyItsOwnPersonalTokens(t *testing.T) {
	e := newTokenEnv(t, 0)
	adminToken := e.userToken(t, "ada", true)
	memberToken := e.userToken(t, "mel", false)
	providers := e.create(t, "provider's", "ro", "account_management")

	assert.ElementsMatch(t, []string{"ada"}, e.tokenNames(t, adminToken))
	assert.ElementsMatch(t, []string{"mel"}, e.tokenNames(t, memberToken))
	assert.ElementsMatch(t, []string{"ada", "mel", "provider's"}, e.tokenNames(t, bootstrapToken))

	status, body := e.call(t, memberToken, http.MethodGet, "/admin/api/personal/access_tokens/"+memberToken+".json", nil)
	require.Equal(t, http.StatusOK, status, body)
	var mel struct {
		AccessToken struct {
			ID int64 `json:"id"`
		} `json:"access_token"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &mel))
	melID := mel.AccessToken.ID

	for _, path := range []string{
		"/admin/api/personal/access_tokens/" + itoa(melID) + ".json",
		"/admin/api/personal/access_tokens/" + memberToken + ".json",
		"/admin/api/personal/access_tokens/" + itoa(providers.ID) + ".json",
	} {
		for _, method := range []string{http.MethodGet, http.MethodDelete} {
			status, body := e.call(t, adminToken, method, path, nil)
			assert.Equal(t, http.StatusNotFound, status, "%s %s with another user's admin token: %s", method, path, body)
		}
	}
	assert.ElementsMatch(t, []string{"ada", "mel", "provider's"}, e.tokenNames(t, bootstrapToken), "no token was deleted")

	status, body = e.call(t, bootstrapToken, http.MethodDelete, "/admin/api/personal/access_tokens/"+itoa(melID)+".json", nil)
	assert.Equal(t, http.StatusOK, status, "the bootstrap token deletes any user's token: %s", body)
}
