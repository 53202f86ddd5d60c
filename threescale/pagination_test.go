package threescale_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// porta's pagination (Admin::Api::Filters::Pagination) reads page and
// per_page as Ruby's to_i and falls back to its defaults (page 1, per_page
// 500) for a value out of range or no number: a list is never refused.
func TestPaginationOutOfRangeFallsBackToDefaults(t *testing.T) {
	e := newTokenEnv(t, 0)
	for _, org := range []string{"a", "b", "c"} {
		e.signup(t, "Org "+org, "user-"+org, nil)
	}
	for _, c := range []struct {
		query url.Values
		want  int
	}{
		{url.Values{"page": {"0"}}, 3},
		{url.Values{"page": {"-1"}}, 3},
		{url.Values{"page": {"abc"}}, 3},
		{url.Values{"page": {"2"}, "per_page": {"2"}}, 1},
		{url.Values{"page": {"99999999999999999999"}}, 0},
		{url.Values{"per_page": {"0"}}, 3},
		{url.Values{"per_page": {"abc"}}, 3},
		{url.Values{"per_page": {"2abc"}}, 2},
		{url.Values{"per_page": {"501"}}, 3},
	} {
		status, body := e.call(t, bootstrapToken, http.MethodGet, "/admin/api/accounts.json", c.query)
		if !assert.Equal(t, http.StatusOK, status, "%v: %s", c.query, body) {
			continue
		}
		var out struct {
			Accounts []json.RawMessage `json:"accounts"`
		}
		require.NoError(t, json.Unmarshal([]byte(body), &out))
		assert.Len(t, out.Accounts, c.want, "%v", c.query)
	}
}
