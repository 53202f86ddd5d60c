package mgmt

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// A write through the proxy that the upstream answers with a non-error
// status invalidates what the read cache holds for the path it wrote: once
// home is gone, a read of a service the app just renamed or deleted, or of
// the list it just added to, is not answered with the answer from before
// the write, as if the write had not happened.
//
// Oracle: RFC 9111 section 4.4, "Invalidating Stored Responses": "a cache
// MUST invalidate the target URI when it receives a non-error status code
// in response to an unsafe request method", where invalidating means
// removing the stored responses, or marking them as needing "a mandatory
// validation before they can be sent in response to a subsequent request"
// (which an unreachable upstream cannot give). README, the management
// proxy: the cache answers "while the upstream is down" with the last good
// answer of a GET; the answer from before a write the upstream accepted is
// not that upstream's last word on the resource.
func TestWriteThroughTheProxyInvalidatesTheCachedReadOfItsPath(t *testing.T) {
	co := testenv.StartCoordinator(t)
	renamed := co.Create(t, "/admin/api/services.json", "name=Before&system_name=renamed")
	deleted := co.Create(t, "/admin/api/services.json", "name=Doomed&system_name=doomed")
	untouched := co.Create(t, "/admin/api/services.json", "name=Kept&system_name=kept")
	env := startProxy(t, co.URL, co.Token, Config{Include: []string{"tag:Services"}})

	// The app reads, and the proxy keeps, each resource and the list.
	reads := []string{
		"/admin/api/services/" + renamed + ".json",
		"/admin/api/services/" + deleted + ".json",
		"/admin/api/services.json",
	}
	for _, p := range append(reads, "/admin/api/services/"+untouched+".json") {
		resp, body := call(t, "GET", env.url+p, "", "")
		require.Equal(t, http.StatusOK, resp.StatusCode, "GET %s: %s", p, body)
	}

	// Then writes through the proxy, each accepted by home.
	for _, w := range []struct{ method, path, body string }{
		{"PUT", "/admin/api/services/" + renamed + ".json", "name=After"},
		{"DELETE", "/admin/api/services/" + deleted + ".json", ""},
		{"POST", "/admin/api/services.json", "name=Added&system_name=added"},
	} {
		ct := ""
		if w.body != "" {
			ct = "application/x-www-form-urlencoded"
		}
		resp, body := call(t, w.method, env.url+w.path, ct, w.body)
		require.Less(t, resp.StatusCode, 400, "%s %s: %s", w.method, w.path, body)
	}

	co.Kill()

	for _, p := range reads {
		resp, body := call(t, "GET", env.url+p, "", "")
		assert.NotEqual(t, http.StatusOK, resp.StatusCode,
			"GET %s with home down: want no answer from before the write the app made through the proxy (RFC 9111 4.4), got %d %s (Warning %q)",
			p, resp.StatusCode, body, resp.Header.Get("Warning"))
		assert.Contains(t, []int{http.StatusBadGateway, http.StatusServiceUnavailable}, resp.StatusCode, "GET %s: %s", p, body)
	}
	// What no write touched is still answered from the cache.
	resp, body := call(t, "GET", env.url+"/admin/api/services/"+untouched+".json", "", "")
	assert.Equal(t, http.StatusOK, resp.StatusCode, "a read no write touched is still served stale: %s", body)
	assert.Equal(t, staleWarning, resp.Header.Get("Warning"))
}
