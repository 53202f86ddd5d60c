package console

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/threescale"
)

// TestEveryAnswerCarriesTheBrowserPolicies: pages, the login form, the
// redirect to it, the refused event stream, a 404 and the static files all
// forbid framing (CSP's frame-ancestors, and X-Frame-Options for a browser
// that predates it), inline script and sniffing; what a session reads is
// never stored by a cache.
func TestEveryAnswerCarriesTheBrowserPolicies(t *testing.T) {
	_, srv := newFleet(t, 1).console(t)
	anon := newBrowser(t)
	signed := signedInClient(t, srv, testToken)
	for _, tc := range []struct {
		hc      *http.Client
		path    string
		status  int
		noStore bool
	}{
		{signed, "/ui/", http.StatusOK, true},
		{signed, "/ui/instances/news-00000", http.StatusOK, true},
		{signed, "/ui/services", http.StatusOK, true},
		{signed, "/ui/nothing-here", http.StatusNotFound, false},
		{anon, "/ui/login", http.StatusOK, true},
		{anon, "/ui/", http.StatusSeeOther, false},
		{anon, "/ui/events", http.StatusUnauthorized, true},
		{anon, "/ui/static/console.js", http.StatusOK, false},
	} {
		resp, err := tc.hc.Get(srv.URL + tc.path)
		require.NoError(t, err)
		readBody(t, resp)
		h := resp.Header
		assert.Equal(t, tc.status, resp.StatusCode, tc.path)
		assert.Contains(t, h.Get("Content-Security-Policy"), "frame-ancestors 'none'", tc.path)
		assert.Contains(t, h.Get("Content-Security-Policy"), "script-src 'self'", tc.path)
		assert.NotContains(t, h.Get("Content-Security-Policy"), "unsafe-inline", tc.path)
		assert.Equal(t, "DENY", h.Get("X-Frame-Options"), tc.path)
		assert.Equal(t, "nosniff", h.Get("X-Content-Type-Options"), tc.path)
		assert.Equal(t, "same-origin", h.Get("Referrer-Policy"), tc.path)
		if tc.noStore {
			assert.Equal(t, "no-store", h.Get("Cache-Control"), tc.path)
		}
	}
}

// TestLoginFormShowsNoVersion: before login the console shows nothing of
// home, not even which build it runs (a version tells an attacker which
// known flaw to try); once signed in, the footer names it.
func TestLoginFormShowsNoVersion(t *testing.T) {
	f := newFleet(t, 1)
	const version = "9.8.7-console-probe"
	c, err := New(Config{Snapshot: f.store.Snapshot, Map: f.reg, Version: version, Logger: zerolog.Nop(),
		Tokens: threescale.NewStoreTokenChecker(f.store.Snapshot, testToken)})
	require.NoError(t, err)
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)

	hc := newBrowser(t)
	resp, err := hc.Get(srv.URL + "/ui/login")
	require.NoError(t, err)
	body := readBody(t, resp)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.NotContains(t, body, version, "the login form names no version")

	resp = postLogin(t, hc, srv, "wrong-token")
	body = readBody(t, resp)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.NotContains(t, body, version, "nor does a refused login")

	resp = postLogin(t, hc, srv, testToken)
	readBody(t, resp)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	for _, path := range []string{"/ui/map", "/ui/services", "/ui/traffic"} {
		resp, err = hc.Get(srv.URL + path)
		require.NoError(t, err)
		assert.Contains(t, readBody(t, resp), "<footer>Portolan "+version+"</footer>", "%s names the version once signed in", path)
	}
}
