package console

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// TestSessionEndsWithItsUsersRights: the console's session of
// a user's access token must end when that token stops authenticating
// (its user suspended) or stops qualifying for the console (its user
// demoted to a member), as the admin API refuses it from that revision.
func TestSessionEndsWithItsUsersRights(t *testing.T) {
	for _, change := range []struct {
		name string
		edit func(u *composition.User)
	}{
		{"suspended", func(u *composition.User) { u.State = composition.UserSuspended }},
		{"demoted", func(u *composition.User) { u.Role = composition.RoleMember }},
	} {
		t.Run(change.name, func(t *testing.T) {
			f := newFleet(t, 1)
			var user *composition.User
			_, err := f.store.Update(context.Background(), func(tx *composition.Tx) error {
				user = &composition.User{AccountID: composition.ProviderAccountID, Username: "alice", Email: "a@example.com",
					Role: composition.RoleAdmin, State: composition.UserActive}
				if err := tx.Create(user); err != nil {
					return err
				}
				return tx.Create(&composition.AccessToken{Name: "alice", UserID: user.ID,
					Scopes: []string{composition.ScopeAccountManagement}, Permission: composition.PermissionRO,
					Digest: composition.TokenDigest("alice-token")})
			})
			require.NoError(t, err)
			c, srv := f.console(t)
			hc := signedInClient(t, srv, "alice-token")

			_, err = f.store.Update(context.Background(), func(tx *composition.Tx) error {
				u := *user
				change.edit(&u)
				return tx.Update(&u)
			})
			require.NoError(t, err)
			// The admin API no longer takes the token as an admin's...
			g, ok := c.cfg.Tokens.AuthenticateToken("alice-token")
			require.False(t, ok && !g.Member(), "the token no longer authenticates an admin")

			// ...but the console session goes on showing the composition.
			resp, err := hc.Get(srv.URL + "/ui/services")
			require.NoError(t, err)
			readBody(t, resp)
			assert.Equal(t, http.StatusSeeOther, resp.StatusCode, "the session must end with the user's rights")
		})
	}
}

// The map page's own refetches (liveHeader) and its event stream are not
// the operator's activity: a tab left open on a changing fleet lets its
// session idle out after sessionIdle, as a page the operator loads does not.
func TestLiveRefetchesDoNotKeepASessionAlive(t *testing.T) {
	for _, live := range []bool{false, true} {
		t.Run(map[bool]string{false: "page", true: "refetch"}[live], func(t *testing.T) {
			var mu sync.Mutex
			now := time.Now()
			clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
			advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
			_, srv := newFleet(t, 1).consoleAt(t, clock)
			hc := signedInClient(t, srv, testToken)
			get := func(live bool) int {
				req, err := http.NewRequest(http.MethodGet, srv.URL+"/ui/map", nil)
				require.NoError(t, err)
				if live {
					req.Header.Set(liveHeader, "1")
				}
				resp, err := hc.Do(req)
				require.NoError(t, err)
				readBody(t, resp)
				return resp.StatusCode
			}
			advance(sessionIdle * 2 / 3)
			require.Equal(t, http.StatusOK, get(live))
			advance(sessionIdle * 2 / 3)
			if live {
				assert.Equal(t, http.StatusSeeOther, get(false), "only the refetch came within sessionIdle: the session is over")
			} else {
				assert.Equal(t, http.StatusOK, get(false), "the operator loaded a page within sessionIdle")
			}
		})
	}
}

// Logging in is free, so the holder of one access token could open
// sessions until every stream is theirs: a token holds maxTokenStreams,
// and a stream closed, even of a session gone since, gives its place back.
func TestOneTokenCannotTakeEveryEventStream(t *testing.T) {
	s := newSessions()
	now := time.Now()
	opened, last := 0, ""
	for range maxStreams/maxSessionStreams + 1 {
		id, _ := s.create(now, 42) // the same stored token at each login
		for range maxSessionStreams {
			if _, _, ok := s.openStream(id, now); ok {
				opened++
				last = id
			}
		}
	}
	assert.Equal(t, maxTokenStreams, opened)
	other, _ := s.create(now, 7)
	_, _, ok := s.openStream(other, now)
	assert.True(t, ok, "another token's session still gets a stream")

	s.remove(last)
	s.closeStream(last, 42)
	fresh, _ := s.create(now, 42)
	_, _, ok = s.openStream(fresh, now)
	assert.True(t, ok, "a closed stream of a session gone since gives the token's place back")
}
