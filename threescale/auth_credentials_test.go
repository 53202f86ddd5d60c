package threescale

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// porta reads a credential as ApiAuthentication does: params.fetch(
// :access_token) { http_authentication }, then the same for provider_key.
// Rails' params take a repeated name's last value and merge the query over
// the body (request_parameters.merge(query_parameters)); Basic auth is
// only the fallback of a name not sent, read as its first non-blank half,
// user before password. So a request carries one token per name, never a
// list of candidates of which any one may authenticate it.
func TestCredentialIsTheOneValuePortaReads(t *testing.T) {
	const bad = "not-a-token"
	tc := NewTokenChecker(testToken)
	tests := []struct {
		name       string
		target     string
		body       string // form
		user, pass string // Basic when either is set
		want       int
	}{
		{"good then bad in the query: the last, bad", "/x.json?access_token=" + testToken + "&access_token=" + bad, "", "", "", 403},
		{"bad then good in the query: the last, good", "/x.json?access_token=" + bad + "&access_token=" + testToken, "", "", "", 418},
		{"good then bad in the body: the last, bad", "/x.json", "access_token=" + testToken + "&access_token=" + bad, "", "", 403},
		{"good then bad provider_key: the last, bad", "/x.json?provider_key=" + testToken + "&provider_key=" + bad, "", "", "", 403},
		{"query bad, body good: the query wins", "/x.json?access_token=" + bad, "access_token=" + testToken, "", "", 403},
		{"query good, body bad: the query wins", "/x.json?access_token=" + testToken, "access_token=" + bad, "", "", 418},
		{"access_token bad, provider_key good: porta tries both names", "/x.json?access_token=" + bad + "&provider_key=" + testToken, "", "", "", 418},
		{"a sent access_token hides Basic", "/x.json?access_token=" + bad + "&provider_key=" + bad, "", "", testToken, 403},
		{"Basic stands in for a name not sent", "/x.json?access_token=" + bad, "", "", testToken, 418},
		{"Basic: the user before the password", "/x.json", "", bad, testToken, 403},
		{"Basic: the password when the user is blank", "/x.json", "", "", testToken, 418},
		{"body names hide Basic", "/x.json", "access_token=" + bad + "&provider_key=" + bad, "", testToken, 403},
	}
	h := tc.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := http.MethodGet
			var r *http.Request
			if tt.body != "" {
				method = http.MethodPost
				r = httptest.NewRequest(method, tt.target, strings.NewReader(tt.body))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			} else {
				r = httptest.NewRequest(method, tt.target, nil)
			}
			if tt.user != "" || tt.pass != "" {
				r.SetBasicAuth(tt.user, tt.pass)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			assert.Equal(t, tt.want, w.Code, "%s %s body %q: %s", method, tt.target, tt.body, w.Body)
		})
	}
}
