package registry

import (
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/pki"
)

// tokenRaceHome is a registry whose clock runs meddle once, right after the
// first reading after arm: the reading that authenticates a join token, so
// that meddle happens between the token's check and the registration.
type tokenRaceHome struct {
	r      *Registry
	h      http.Handler
	clock  *clock
	arm    atomic.Bool
	meddle func()
}

func newTokenRaceHome(t *testing.T) *tokenRaceHome {
	t.Helper()
	tokens, err := OpenJoinTokenStore(filepath.Join(t.TempDir(), JoinTokenFile))
	require.NoError(t, err)
	home := &tokenRaceHome{clock: newClock()}
	now := func() time.Time {
		read := home.clock.Now()
		if home.arm.CompareAndSwap(true, false) {
			home.meddle()
		}
		return read
	}
	home.r, err = New(Config{Store: newMemStore(), Logger: zerolog.Nop(), JoinTokens: tokens, Now: now})
	require.NoError(t, err)
	home.h = home.r.Handler(Access{})
	return home
}

const raceRegistration = `{"service":"news","address":"10.0.0.1","port":80}`

// A join token revoked while a registration through it is on its way
// leaves no live instance: registering again an id the token holds is
// refused as a new id is, and the instance stays ended.
func TestTokenRevokedDuringRegistrationAdmitsNoInstance(t *testing.T) {
	home := newTokenRaceHome(t)
	jt, err := home.r.CreateJoinToken(JoinTokenSpec{}, pki.Pin{})
	require.NoError(t, err)
	code, _, body := serve(t, home.h, "PUT", "/v1/instances/a", jt.Token, raceRegistration)
	require.Equal(t, http.StatusOK, code, body)

	home.meddle = func() {
		_, err := home.r.RevokeJoinToken(jt.ID)
		assert.NoError(t, err)
	}
	home.arm.Store(true)
	code, _, body = serve(t, home.h, "PUT", "/v1/instances/a", jt.Token, raceRegistration)
	require.False(t, home.arm.Load(), "the token was revoked during the registration")
	assert.Equal(t, http.StatusUnauthorized, code, "a registration through a token revoked meanwhile: %s", body)
	assert.Contains(t, body, "revoked")
	assert.Equal(t, StatusCritical, (&fixture{r: home.r}).status(t, "a"), "the instance stays ended")
}

// A join token that expires while a registration through it is on its way
// admits no instance either (an expired token with no instance may be
// dropped at any time).
func TestTokenExpiredDuringRegistrationAdmitsNoInstance(t *testing.T) {
	home := newTokenRaceHome(t)
	jt, err := home.r.CreateJoinToken(JoinTokenSpec{TTL: Duration(time.Minute)}, pki.Pin{})
	require.NoError(t, err)
	// The authentication reads the clock before the expiry; it moves past
	// it right after.
	home.meddle = func() { home.clock.Advance(2 * time.Minute) }
	home.arm.Store(true)
	code, _, body := serve(t, home.h, "PUT", "/v1/instances/a", jt.Token, raceRegistration)
	assert.Equal(t, http.StatusUnauthorized, code, "a registration through a token expired meanwhile: %s", body)
	assert.Contains(t, body, "expired")
	assert.Equal(t, 0, home.r.Len())
}
