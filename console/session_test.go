package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

func TestSessionTableIsBoundedAndExpires(t *testing.T) {
	s := newSessions()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	first, csrf := s.create(now, 0)
	for i := range sessionCap + 10 { // by several tokens: one token's sessions are bounded lower
		s.create(now.Add(time.Duration(i+1)*time.Millisecond), int64(i%(sessionCap/maxTokenSessions*2))+1)
	}
	assert.Equal(t, sessionCap, s.len(), "a full table evicts")
	_, ok := s.lookup(first, now)
	assert.True(t, ok, "the oldest session, its token's only one, was kept: the busiest token's oldest made room")

	id, csrf2 := s.create(now, 0)
	assert.NotEqual(t, csrf, csrf2)
	got, ok := s.lookup(id, now.Add(sessionIdle-time.Second))
	require.True(t, ok)
	assert.Equal(t, csrf2, got.csrf)
	_, ok = s.lookup(id, now.Add(2*sessionIdle))
	assert.False(t, ok, "an idle session ends")
	id, _ = s.create(now, 0)
	for d := time.Duration(0); d < sessionMaxAge; d += sessionIdle / 2 {
		s.lookup(id, now.Add(d))
	}
	_, ok = s.lookup(id, now.Add(sessionMaxAge))
	assert.False(t, ok, "a session ends at its maximum age however busy")
	for d := range s.byDigest {
		assert.NotContains(t, string(d[:]), id, "the table keeps digests, never ids")
	}
}

func TestLocalNextOnlyReturnsToConsolePages(t *testing.T) {
	for next, want := range map[string]string{
		"/ui/map?service=news":  "/ui/map?service=news",
		"/ui/instances/a-1":     "/ui/instances/a-1",
		"":                      "/ui/",
		"https://evil.test/ui/": "/ui/",
		"//evil.test/ui/":       "/ui/",
		"/\\evil.test":          "/ui/",
		"/admin/api/x":          "/ui/",
		"/ui/logout":            "/ui/",
		"/ui/events":            "/ui/",
	} {
		assert.Equal(t, want, localNext(next), next)
	}
}

func TestConsoleAnswersNothingBeforeLogin(t *testing.T) {
	_, srv := newFleet(t, 3).console(t)
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, path := range []string{"/ui/", "/ui/map?service=news", "/ui/instances/news-00000", "/ui/unknown", "/ui/services"} {
		resp, err := hc.Get(srv.URL + path)
		require.NoError(t, err)
		body := readBody(t, resp)
		assert.Equal(t, http.StatusSeeOther, resp.StatusCode, path)
		assert.Equal(t, "/ui/login?next="+url.QueryEscape(path), resp.Header.Get("Location"), path)
		assert.NotContains(t, body, "10.0.0.1", path)
	}
	resp, err := hc.Get(srv.URL + "/ui/events")
	require.NoError(t, err)
	readBody(t, resp)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "the event stream needs a session")
	for _, path := range []string{"/ui/login", "/ui/static/style.css", "/ui/static/console.js"} {
		resp, err := hc.Get(srv.URL + path)
		require.NoError(t, err)
		readBody(t, resp)
		assert.Equal(t, http.StatusOK, resp.StatusCode, path)
	}
}

func TestLoginRefusesWrongTokenForeignOriginAndMissingCSRF(t *testing.T) {
	_, srv := newFleet(t, 1).console(t)
	hc := signedInClient(t, srv, testToken) // a jar holding a login CSRF cookie too
	resp, err := hc.Get(srv.URL + "/ui/login")
	require.NoError(t, err)
	csrf := strings.Split(strings.Split(readBody(t, resp), `name="csrf" value="`)[1], `"`)[0]
	post := func(origin string, form url.Values) int {
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/ui/login", strings.NewReader(form.Encode()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := hc.Do(req)
		require.NoError(t, err)
		body := readBody(t, resp)
		assert.NotContains(t, body, "wrong-token", "a refused token is never shown back")
		return resp.StatusCode
	}
	assert.Equal(t, http.StatusUnauthorized, post(srv.URL, url.Values{"csrf": {csrf}, "token": {"wrong-token"}}))
	assert.Equal(t, http.StatusForbidden, post("https://evil.test", url.Values{"csrf": {csrf}, "token": {testToken}}))
	assert.Equal(t, http.StatusForbidden, post("", url.Values{"csrf": {csrf}, "token": {testToken}}), "no origin at all")
	assert.Equal(t, http.StatusForbidden, post(srv.URL, url.Values{"csrf": {"forged"}, "token": {testToken}}))
	assert.Equal(t, http.StatusSeeOther, post(srv.URL, url.Values{"csrf": {csrf}, "token": {testToken}}))
}

func TestLogoutEndsTheSessionAndNeedsItsCSRFToken(t *testing.T) {
	c, srv := newFleet(t, 1).console(t)
	hc := signedInClient(t, srv, testToken)
	resp, err := hc.Get(srv.URL + "/ui/")
	require.NoError(t, err)
	body := readBody(t, resp)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	csrf := strings.Split(strings.Split(body, `name="csrf" value="`)[1], `"`)[0]
	logout := func(token string) int {
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/ui/logout", strings.NewReader(url.Values{"csrf": {token}}.Encode()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		resp, err := hc.Do(req)
		require.NoError(t, err)
		readBody(t, resp)
		return resp.StatusCode
	}
	assert.Equal(t, http.StatusForbidden, logout("forged"))
	assert.Equal(t, 1, c.sessions.len())
	assert.Equal(t, http.StatusSeeOther, logout(csrf))
	assert.Equal(t, 0, c.sessions.len())
	resp, err = hc.Get(srv.URL + "/ui/")
	require.NoError(t, err)
	readBody(t, resp)
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode, "signed out")
}

// TestReadOnlyTokenSignsInUntilDeleted: a stored read-only token with the
// account_management scope may use the console, one with only stats may
// not, and deleting the token ends its session.
func TestReadOnlyTokenSignsInUntilDeleted(t *testing.T) {
	f := newFleet(t, 1)
	var ro, stats *composition.AccessToken
	_, err := f.store.Update(context.Background(), func(tx *composition.Tx) error {
		ro = &composition.AccessToken{Name: "viewer", Scopes: []string{composition.ScopeAccountManagement},
			Permission: composition.PermissionRO, Digest: composition.TokenDigest("viewer-token")}
		stats = &composition.AccessToken{Name: "stats", Scopes: []string{composition.ScopeStats},
			Permission: composition.PermissionRO, Digest: composition.TokenDigest("stats-token")}
		if err := tx.Create(ro); err != nil {
			return err
		}
		return tx.Create(stats)
	})
	require.NoError(t, err)
	_, srv := f.console(t)

	hc := signedInClient(t, srv, "viewer-token")
	resp, err := hc.Get(srv.URL + "/ui/")
	require.NoError(t, err)
	readBody(t, resp)
	require.Equal(t, http.StatusOK, resp.StatusCode, "a read-only token reads the console")

	_, err = f.store.Update(context.Background(), func(tx *composition.Tx) error {
		return tx.Delete(composition.KindAccessToken, ro.ID)
	})
	require.NoError(t, err)
	resp, err = hc.Get(srv.URL + "/ui/")
	require.NoError(t, err)
	readBody(t, resp)
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode, "deleting the token ends its session")

	resp, err = hc.Get(srv.URL + "/ui/login")
	require.NoError(t, err)
	csrf := strings.Split(strings.Split(readBody(t, resp), `name="csrf" value="`)[1], `"`)[0]
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/ui/login",
		strings.NewReader(url.Values{"csrf": {csrf}, "token": {"stats-token"}}.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", srv.URL)
	resp, err = hc.Do(req)
	require.NoError(t, err)
	assert.Contains(t, readBody(t, resp), "account_management")
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "a token without account_management is refused")
}
