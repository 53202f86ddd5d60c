package gateway

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// RFC 7517 section 5: "A JWK Set is a JSON object that represents a set of
// JWKs. The JSON object MUST have a "keys" member"; 5.1: "The value of the
// "keys" member is an array of JWK values." An answer of the JWKS endpoint
// that is not one (JSON null, an object without "keys", "keys" that are
// no JWK objects: a broken issuer or a proxy's placeholder answering 200)
// is a failed fetch, as a 503 or HTML is: the gateway keeps the keys it
// has and goes on accepting the tokens they sign, instead of taking the
// garbage for an issuer that withdrew every key.
func TestOIDCJWKSAnswerThatIsNoKeySetKeepsTheCachedKeys(t *testing.T) {
	for name, body := range map[string]string{
		"JSON null":            "null",
		"an empty object":      "{}",
		"keys null":            `{"keys":null}`,
		"keys that are no JWK": `{"keys":[1,"two",[3]]}`,
	} {
		t.Run(name, func(t *testing.T) {
			ci := startCraftIssuer(t, false)
			og := startOIDCGatewayAt(t, ci.URL, "", func(x *oidcIssuers) { x.minRefetch = 50 * time.Millisecond }, nil)
			first := call(t, "GET", og.base+"/", bearerHeader(ci.Token(t, "ES256", ci.Claims("premium-key"))))
			require.Equal(t, http.StatusOK, first.status, "the keys fetched at discovery: %s", first.body)

			ci.serveJWKS(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(body))
			})
			// Made-up kids make the gateway fetch the set again, once
			// per minRefetch, until it has read the garbage.
			fetched := ci.jwksFetches.Load()
			unknown := ci.Sign(t, map[string]any{"alg": "RS256", "kid": "not-published"}, signedPayload(t, ci.Claims("premium-key")))
			require.Eventually(t, func() bool {
				call(t, "GET", og.base+"/", bearerHeader(unknown))
				return ci.jwksFetches.Load() > fetched
			}, 3*time.Second, 20*time.Millisecond, "the JWKS fetched again")
			require.Eventually(t, func() bool {
				k := og.g.oidc.get(ci.URL).verifier.Load().keys
				k.mu.Lock()
				defer k.mu.Unlock()
				return k.inflight == nil
			}, 3*time.Second, 10*time.Millisecond)

			// ES256 signs at random: a token never verified (not in the
			// cache), signed by a key the gateway fetched.
			a := call(t, "GET", og.base+"/", bearerHeader(ci.Token(t, "ES256", ci.Claims("premium-key"))))
			assert.Equal(t, http.StatusOK, a.status,
				"a JWKS answer of %s must leave the cached keys in use; got %d %q", body, a.status, a.body)
		})
	}
}
