package coordinator_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// Every answer of home's but a heartbeat's tells a browser it is data: not
// to be sniffed into HTML, framed, or run (a sandbox without script). The
// console shares the origin of its session cookie with the APIs, so an API
// answer echoing input must never become a page of the console's; the
// console's own pages keep their own policy.
func TestAPIAnswersCarryBrowserPolicies(t *testing.T) {
	co := testenv.StartCoordinator(t)
	get := func(path string, token bool) http.Header {
		req, err := http.NewRequest(http.MethodGet, co.URL+path, nil)
		require.NoError(t, err)
		if token {
			req.SetBasicAuth("", co.Token)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.Header
	}
	for _, c := range []struct {
		path  string
		token bool
	}{
		{"/admin/api/services.json", true},
		{"/admin/api/services/999.xml", true}, // an error document
		{"/admin/api/services.json", false},   // refused
		{"/v1/map", true},
		{"/metrics", false},
		{"/health/ready", false},
		{"/no/such/<script>", false},
	} {
		h := get(c.path, c.token)
		assert.Equal(t, "nosniff", h.Get("X-Content-Type-Options"), c.path)
		assert.Equal(t, "default-src 'none'; frame-ancestors 'none'; sandbox", h.Get("Content-Security-Policy"), c.path)
		assert.Equal(t, "DENY", h.Get("X-Frame-Options"), c.path)
	}
	console := get("/ui/login", false)
	assert.Contains(t, console.Get("Content-Security-Policy"), "script-src 'self'", "the console's pages keep their policy")
	assert.Len(t, console.Values("Content-Security-Policy"), 1)
}
