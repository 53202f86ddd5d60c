package threescale

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
)

// apisonator's internal API takes Basic credentials, a user and a
// password, and porta, its client, sends both as configured: Portolan's
// token stands for the password (the 401 says so), so a client configured
// with a user and the token as password is let in, as it was before the
// Account Management API's reading of Basic (the user first) was porta's.
func TestInternalAPITakesTheTokenAsBasicPasswordBesideAUser(t *testing.T) {
	a := NewInternalAPI(nil, NewTokenChecker(testToken), nil, nil)
	call := func(user, pass string) int {
		r := httptest.NewRequest(http.MethodGet, "/internal/nothing/here", nil)
		r.SetBasicAuth(user, pass)
		w := httptest.NewRecorder()
		a.ServeHTTP(w, r)
		return w.Code
	}
	assert.Equal(t, http.StatusNotFound, call("", testToken), "blank user, the token as password")
	assert.Equal(t, http.StatusNotFound, call("porta", testToken), "a user, the token as password: apisonator's shape")
	assert.Equal(t, http.StatusUnauthorized, call("porta", "not-the-token"))
	assert.Equal(t, http.StatusUnauthorized, call("porta", ""))
}

// porta's http_authentication splits the decoded Basic credentials at the
// first colon if there is one (ActionController's user_name_and_password,
// split(":", 2)), so "Basic base64(token)" presents the token; Go's
// BasicAuth refuses credentials without a colon.
func TestBasicWithoutAColonIsTheToken(t *testing.T) {
	tc := NewTokenChecker(testToken)
	r := httptest.NewRequest(http.MethodGet, "/x.json", nil)
	r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(testToken)))
	_, ok := tc.Authenticate(r)
	assert.True(t, ok, "Basic base64(token), no colon")
	r.Header.Set("Authorization", "basic "+base64.StdEncoding.EncodeToString([]byte("not-the-token")))
	_, ok = tc.Authenticate(r)
	assert.False(t, ok)
}
