package console

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// TestOneTokensLoginsCannotSignOthersOut: logging in is free, and a full
// session table evicts its oldest session, so the holder of one access
// token (a script logging in at every run, a leaked read-only token) could
// sign every other operator out by logging in sessionCap times. A token's
// sessions beyond maxTokenSessions evict that token's own oldest, as its
// event streams are bounded by maxTokenStreams.
func TestOneTokensLoginsCannotSignOthersOut(t *testing.T) {
	f := newFleet(t, 1)
	_, err := f.store.Update(context.Background(), func(tx *composition.Tx) error {
		for _, tok := range []string{"operator-token", "script-token"} {
			if err := tx.Create(&composition.AccessToken{Name: tok, Scopes: []string{composition.ScopeAccountManagement},
				Permission: composition.PermissionRO, Digest: composition.TokenDigest(tok)}); err != nil {
				return err
			}
		}
		return nil
	})
	require.NoError(t, err)
	c, srv := f.console(t)
	operator := signedInClient(t, srv, "operator-token")
	configured := signedInClient(t, srv, testToken)

	script := newBrowser(t)
	for range sessionCap + 10 {
		resp := postLogin(t, script, srv, "script-token")
		readBody(t, resp)
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		script.Jar.SetCookies(resp.Request.URL, []*http.Cookie{{Name: sessionCookie, MaxAge: -1, Path: Prefix}}) // a new browser each run
	}
	assert.LessOrEqual(t, c.sessions.len(), maxTokenSessions+2, "the script's sessions are bounded")
	for name, hc := range map[string]*http.Client{"a stored token's": operator, "the configured token's": configured} {
		resp, err := hc.Get(srv.URL + "/ui/services")
		require.NoError(t, err)
		readBody(t, resp)
		assert.Equal(t, http.StatusOK, resp.StatusCode, "%s session outlives another token's logins", name)
	}
	resp := postLogin(t, script, srv, "script-token")
	readBody(t, resp)
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode, "the script still logs in")
}

// A full session table (several tokens each at maxTokenSessions) makes
// room by ending the oldest session of the token holding the most, not
// the oldest of all: an operator signed in once, before the others' logins
// filled the table, stays signed in.
func TestFullSessionTableEndsTheBusiestTokensOldest(t *testing.T) {
	s := newSessions()
	now := time.Now()
	operator, _ := s.create(now, 5)
	filled := 1
	for tok := int64(1); filled < sessionCap; tok++ {
		for i := 0; i < maxTokenSessions && filled < sessionCap; i++ {
			now = now.Add(time.Millisecond)
			s.create(now, tok)
			filled++
		}
	}
	require.Equal(t, sessionCap, s.len())
	s.create(now.Add(time.Millisecond), 4) // token 4 holds fewer than its share
	_, ok := s.lookup(operator, now.Add(2*time.Millisecond))
	assert.True(t, ok, "the operator's one session is not the one ended to make room")
	assert.Equal(t, sessionCap, s.len())
}
