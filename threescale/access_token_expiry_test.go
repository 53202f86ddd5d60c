package threescale_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
)

// porta's AccessToken#expires_at= takes what DateTime.parse reads: an ISO
// 8601 time with its offset, a bare date or a time without offset (UTC);
// anything else, or a past time, is 422.
func TestAccessTokenExpiryTakesISO8601DatesAndTimes(t *testing.T) {
	e := newTokenEnv(t, 0)
	for _, c := range []struct {
		in, want string
		status   int
	}{
		{"2099-01-02", "2099-01-02T00:00:00+00:00", http.StatusCreated},
		{"2099-01-02T10:20:30", "2099-01-02T10:20:30+00:00", http.StatusCreated},
		{"2099-01-02 10:20:30", "2099-01-02T10:20:30+00:00", http.StatusCreated},
		{"2099-01-02T10:20:30+02:00", "2099-01-02T08:20:30+00:00", http.StatusCreated},
		{"2001-01-02", "", http.StatusUnprocessableEntity},
		{"next week", "", http.StatusUnprocessableEntity},
	} {
		status, body := e.call(t, bootstrapToken, http.MethodPost, "/admin/api/personal/access_tokens.json",
			url.Values{"name": {"x"}, "permission": {"ro"}, "scopes[]": {"stats"}, "expires_at": {c.in}})
		if assert.Equal(t, c.status, status, "%s: %s", c.in, body) && c.want != "" {
			assert.Contains(t, body, `"expires_at":"`+c.want+`"`, c.in)
		}
	}
}
