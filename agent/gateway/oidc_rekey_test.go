package gateway

import (
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An issuer whose kids are not thumbprints may re-key under the same kid
// (a key that leaked, replaced): once the gateway fetches the new set, the
// old key's tokens are refused, including those it had verified and
// cached, as when a key is removed; the new key's tokens pass.
func TestOIDCKeyReplacedUnderTheSameKidRevokesItsTokens(t *testing.T) {
	ci := startCraftIssuer(t, false)
	og := startOIDCGatewayAt(t, ci.URL, "", func(x *oidcIssuers) { x.minRefetch = 100 * time.Millisecond }, nil)
	old := ci.Token(t, "RS256", ci.Claims("premium-key"))
	require.Equal(t, http.StatusOK, call(t, "GET", og.base+"/", bearerHeader(old)).status, "verified, then cached")

	fresh, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	ci.mu.Lock()
	ci.rsa = fresh // Token signs with it from now on
	ci.mu.Unlock()
	ci.publish(jose.JSONWebKey{Key: fresh.Public(), KeyID: "rsa", Algorithm: "RS256", Use: "sig"},
		jose.JSONWebKey{Key: ci.ec.Public(), KeyID: "ec", Algorithm: "ES256", Use: "sig"})
	time.Sleep(150 * time.Millisecond) // past minRefetch
	unknown := ci.Sign(t, map[string]any{"alg": "RS256", "kid": "not-published"}, signedPayload(t, ci.Claims("premium-key")))
	require.Equal(t, http.StatusForbidden, call(t, "GET", og.base+"/", bearerHeader(unknown)).status)
	require.EqualValues(t, 2, ci.jwksFetches.Load(), "the unknown kid fetched the new set")

	assert.Equal(t, http.StatusOK, call(t, "GET", og.base+"/", bearerHeader(ci.Token(t, "RS256", ci.Claims("premium-key")))).status,
		"the new key's token")
	assert.Equal(t, http.StatusForbidden, call(t, "GET", og.base+"/", bearerHeader(old)).status,
		"the replaced key's token, though verified before")
}
