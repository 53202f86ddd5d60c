package gateway

import (
	"net/http"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
)

// RFC 7517 section 4.5: "When "kid" values are used within a JWK Set,
// different keys within the JWK Set SHOULD use distinct "kid" values.
// (One example in which different keys might use the same "kid" value is
// if they have different "kty" (key type) values but are considered to be
// equivalent alternatives by the application using them.)" An issuer that
// publishes its RSA and its EC key under one kid, without "alg" (optional,
// RFC 7517 4.4), signs RS256 tokens with the one and ES256 tokens with the
// other: the key a token's kid names is the one of the key type its alg
// needs, so both are accepted, and a token is never checked against the
// other type's key alone.
func TestOIDCKidSharedByKeysOfTwoTypesFindsTheTypeOfTheAlg(t *testing.T) {
	ci := startCraftIssuer(t, false)
	ci.publish(jose.JSONWebKey{Key: ci.rsa.Public(), KeyID: "shared", Use: "sig"},
		jose.JSONWebKey{Key: ci.ec.Public(), KeyID: "shared", Use: "sig"})
	og := startOIDCGatewayAt(t, ci.URL, "", nil, nil)
	for _, alg := range []string{"ES256", "RS256"} {
		tok := ci.Sign(t, map[string]any{"alg": alg, "typ": "JWT", "kid": "shared"}, signedPayload(t, ci.Claims("premium-key")))
		a := call(t, "GET", og.base+"/", bearerHeader(tok))
		assert.Equal(t, http.StatusOK, a.status, "%s token whose kid both keys share: got %d %q", alg, a.status, a.body)
	}
	// Still no confusion: a token whose alg names one type but signed
	// with the other type's key is refused.
	forged := ci.Sign(t, map[string]any{"alg": "ES256", "typ": "JWT", "kid": "shared"}, signedPayload(t, ci.Claims("premium-key")))
	forged = forged[:len(forged)-10] + "AAAAAAAAAA"
	a := call(t, "GET", og.base+"/", bearerHeader(forged))
	assert.Equal(t, http.StatusForbidden, a.status, "a bad ES256 signature: %s", a.body)
}
