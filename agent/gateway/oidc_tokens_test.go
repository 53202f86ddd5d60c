package gateway

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const authFailedBody = "Authentication failed\n"

// refusedAll calls the gateway with each token and asserts APIcast's
// "Authentication failed" for every one, and that none reached the app.
func (og *oidcGateway) refusedAll(t *testing.T, cases map[string]string) {
	t.Helper()
	og.drain()
	for name, tok := range cases {
		a := call(t, "GET", og.base+"/articles", bearerHeader(tok))
		assert.Equal(t, http.StatusForbidden, a.status, "%s: %s", name, a.body)
		assert.Equal(t, authFailedBody, a.body, name)
	}
	assert.Empty(t, og.got, "nothing refused reaches the app")
}

// drain forgets the requests the app has seen so far.
func (og *oidcGateway) drain() {
	for {
		select {
		case <-og.got:
		default:
			return
		}
	}
}

// signedPayload is the raw JSON of claims.
func signedPayload(t testing.TB, claims map[string]any) []byte {
	b, err := json.Marshal(claims)
	require.NoError(t, err)
	return b
}

// Algorithm confusion (RFC 8725 2.1, 3.1): the gateway verifies with the
// algorithm of the key it holds and within RS256 and ES256 only, whatever
// the header says. alg none and HS256 keyed with the RSA key's public
// bytes, a header alg naming the other key type, ES256 signatures of the
// wrong length or DER-encoded (JWS wants R||S, 64 bytes for P-256), the
// all-zero ECDSA signature (CVE-2022-21449's "psychic signature"), a key
// the token carries itself (jwk) or points to (jku, x5u), and a crit
// header the gateway does not understand (RFC 7515 4.1.11: "MUST be
// rejected") are all "Authentication failed"; the URLs a token names are
// never fetched.
func TestOIDCAlgorithmConfusionIsRefused(t *testing.T) {
	ci := startCraftIssuer(t, false)
	og := startOIDCGatewayAt(t, ci.URL, "", nil, nil)
	payload := signedPayload(t, ci.Claims("premium-key"))
	hdr := func(alg, kid string, extra ...any) map[string]any {
		h := map[string]any{"alg": alg, "typ": "JWT", "kid": kid}
		for i := 0; i+1 < len(extra); i += 2 {
			h[extra[i].(string)] = extra[i+1]
		}
		return h
	}
	// An ES256 token whose signature part the test replaces.
	es := ci.Sign(t, hdr("ES256", "ec"), payload)
	withSig := func(sig []byte) string {
		return es[:strings.LastIndexByte(es, '.')+1] + base64.RawURLEncoding.EncodeToString(sig)
	}
	good, err := base64.RawURLEncoding.DecodeString(es[strings.LastIndexByte(es, '.')+1:])
	require.NoError(t, err)
	der := append([]byte{0x30, 0x44, 0x02, 0x20}, good[:32]...)
	der = append(append(der, 0x02, 0x20), good[32:]...)

	rs := ci.Sign(t, hdr("RS256", "rsa"), payload)
	rsSig, err := base64.RawURLEncoding.DecodeString(rs[strings.LastIndexByte(rs, '.')+1:])
	require.NoError(t, err)
	withRSASig := func(sig []byte) string {
		return rs[:strings.LastIndexByte(rs, '.')+1] + base64.RawURLEncoding.EncodeToString(sig)
	}

	var fetched atomic.Int64
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fetched.Add(1) }))
	t.Cleanup(elsewhere.Close)
	own, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	ownJWK, err := jose.JSONWebKey{Key: own.Public(), KeyID: "ec", Algorithm: "ES256"}.MarshalJSON()
	require.NoError(t, err)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: own, KeyID: "ec"}},
		(&jose.SignerOptions{EmbedJWK: true}).WithType("JWT"))
	require.NoError(t, err)
	embedded, err := signer.Sign(payload)
	require.NoError(t, err)
	embeddedJWK, err := embedded.CompactSerialize()
	require.NoError(t, err)

	og.refusedAll(t, map[string]string{
		"alg none":                    ci.Sign(t, hdr("none", "rsa"), payload),
		"alg none, no kid":            ci.Sign(t, map[string]any{"alg": "none"}, payload),
		"HS256 keyed with the RSA N":  ci.Sign(t, hdr("HS256", "rsa"), payload),
		"RS256 naming the EC key":     ci.Sign(t, hdr("RS256", "ec"), payload),
		"ES256 naming the RSA key":    ci.Sign(t, hdr("ES256", "rsa"), payload),
		"ES256 signature of 63 bytes": withSig(good[:63]),
		"ES256 signature of 65 bytes": withSig(append(append([]byte(nil), good...), 0)),
		"ES256 signature DER-encoded": withSig(der),
		"ES256 all-zero signature":    withSig(make([]byte, 64)),
		"ES256 empty signature":       withSig(nil),
		"RS256 signature cut a byte":  withRSASig(rsSig[1:]),
		"RS256 signature, a 0 before": withRSASig(append([]byte{0}, rsSig...)),
		"RS256 signature of zeros":    withRSASig(make([]byte, len(rsSig))),
		"embedded jwk of its own key": embeddedJWK,
		"jku to another server":       ci.Sign(t, hdr("RS256", "nobody", "jku", elsewhere.URL+"/jwks"), payload),
		"x5u to another server":       ci.Sign(t, hdr("RS256", "nobody", "x5u", elsewhere.URL+"/cert"), payload),
		"jwk header, unknown kid":     ci.Sign(t, hdr("ES256", "own", "jwk", json.RawMessage(ownJWK)), payload),
		"crit it does not understand": ci.Sign(t, hdr("RS256", "rsa", "crit", []string{"exp"}, "exp", 1), payload),
	})
	assert.Zero(t, fetched.Load(), "a URL a token names is never fetched")
	assert.Equal(t, http.StatusOK, call(t, "GET", og.base+"/", bearerHeader(ci.Sign(t, hdr("ES256", "ec"), payload))).status,
		"the same claims properly signed pass")
}

// A JWKS whose keys do not say their alg: the key's type decides. An RSA
// key is never used for ES256 nor an EC key for RS256.
func TestOIDCKeyTypeDecidesWithoutAlgInTheJWKS(t *testing.T) {
	ci := startCraftIssuer(t, false)
	ci.publish(jose.JSONWebKey{Key: ci.rsa.Public(), KeyID: "rsa"}, jose.JSONWebKey{Key: ci.ec.Public(), KeyID: "ec"})
	og := startOIDCGatewayAt(t, ci.URL, "", nil, nil)
	payload := signedPayload(t, ci.Claims("premium-key"))
	og.refusedAll(t, map[string]string{
		"RS256 naming the EC key":  ci.Sign(t, map[string]any{"alg": "RS256", "kid": "ec"}, payload),
		"ES256 naming the RSA key": ci.Sign(t, map[string]any{"alg": "ES256", "kid": "rsa"}, payload),
		"HS256 naming the RSA key": ci.Sign(t, map[string]any{"alg": "HS256", "kid": "rsa"}, payload),
	})
	for _, alg := range []string{"RS256", "ES256"} {
		assert.Equal(t, http.StatusOK, call(t, "GET", og.base+"/", bearerHeader(ci.Token(t, alg, ci.Claims("premium-key")))).status, alg)
	}
}

// RFC 7518 3.3: "A key of size 2048 bits or larger MUST be used with these
// algorithms" (RS256). An issuer publishing a shorter RSA key gets its
// tokens refused: a 1024-bit modulus is within reach of a well-funded
// attacker, and Go's crypto/rsa still verifies with one.
func TestOIDCShortRSAKeyIsRefused(t *testing.T) {
	ci := startCraftIssuer(t, false)
	ci.publish(jose.JSONWebKey{Key: ci.weak.Public(), KeyID: "weak", Algorithm: "RS256", Use: "sig"},
		jose.JSONWebKey{Key: ci.rsa.Public(), KeyID: "rsa", Algorithm: "RS256", Use: "sig"})
	og := startOIDCGatewayAt(t, ci.URL, "", nil, nil)
	payload := signedPayload(t, ci.Claims("premium-key"))
	og.refusedAll(t, map[string]string{
		"RS256 with a 1024-bit key": ci.Sign(t, map[string]any{"alg": "RS256", "kid": "weak"}, payload),
	})
	assert.Equal(t, http.StatusOK, call(t, "GET", og.base+"/", bearerHeader(ci.Token(t, "RS256", ci.Claims("premium-key")))).status,
		"the 2048-bit key of the same set still verifies")
}

// APIcast finds the key by kid alone (oauth/oidc.lua find_public_key:
// "keys[jwt.header.kid]"): a token without kid is refused, with one key
// published or several. A client making up kids cannot make the gateway
// fetch the issuer's JWKS more than once per interval (oidcMinRefetch), nor
// echo a huge kid anywhere.
func TestOIDCKidIsRequiredAndUnknownKidsCannotFloodTheIssuer(t *testing.T) {
	ci := startCraftIssuer(t, false)
	og := startOIDCGatewayAt(t, ci.URL, "", nil, nil)
	payload := signedPayload(t, ci.Claims("premium-key"))
	require.Equal(t, http.StatusOK, call(t, "GET", og.base+"/", bearerHeader(ci.Token(t, "RS256", ci.Claims("premium-key")))).status)
	require.EqualValues(t, 1, ci.jwksFetches.Load())
	cases := map[string]string{
		"no kid, two keys":  ci.Sign(t, map[string]any{"alg": "RS256"}, payload),
		"empty kid":         ci.Sign(t, map[string]any{"alg": "RS256", "kid": ""}, payload),
		"kid not a string":  ci.Sign(t, map[string]any{"alg": "RS256", "kid": 7}, payload),
		"a kid of 8 KB":     ci.Sign(t, map[string]any{"alg": "RS256", "kid": strings.Repeat("k", 8<<10)}, payload),
		"kid of the EC key": ci.Sign(t, map[string]any{"alg": "RS256", "kid": "ec"}, payload),
	}
	for i := range 30 {
		cases[fmt.Sprintf("made-up kid %d", i)] = ci.Sign(t, map[string]any{"alg": "RS256", "kid": fmt.Sprintf("random-%d", i)}, payload)
	}
	og.refusedAll(t, cases)
	assert.LessOrEqual(t, ci.jwksFetches.Load(), int64(2), "31 unknown kids: at most one refetch within oidcMinRefetch")

	one := startCraftIssuer(t, false)
	one.publish(jose.JSONWebKey{Key: one.rsa.Public(), KeyID: "rsa", Algorithm: "RS256", Use: "sig"})
	og1 := startOIDCGatewayAt(t, one.URL, "", nil, nil)
	og1.refusedAll(t, map[string]string{
		"no kid, one key": one.Sign(t, map[string]any{"alg": "RS256"}, signedPayload(t, one.Claims("premium-key"))),
	})
}

// What is not a compact JWS is refused: a JWE (five parts, RFC 7516), a
// nested JWT (cty JWT, RFC 7519 5.2: its payload is a JWT, not claims),
// the JWS JSON serialization, and a payload that is no JSON object.
func TestOIDCNestedAndEncryptedTokensAreRefused(t *testing.T) {
	ci := startCraftIssuer(t, false)
	og := startOIDCGatewayAt(t, ci.URL, "", nil, nil)
	inner := ci.Token(t, "RS256", ci.Claims("premium-key"))
	enc := base64.RawURLEncoding
	jwe := enc.EncodeToString([]byte(`{"alg":"RSA-OAEP","enc":"A256GCM","kid":"rsa"}`)) + ".AAAA.AAAA.AAAA.AAAA"
	parts := strings.Split(ci.Token(t, "RS256", ci.Claims("premium-key")), ".")
	flattened, err := json.Marshal(map[string]string{"protected": parts[0], "payload": parts[1], "signature": parts[2]})
	require.NoError(t, err)
	og.refusedAll(t, map[string]string{
		"JWE":                        jwe,
		"nested JWT (cty JWT)":       ci.Sign(t, map[string]any{"alg": "RS256", "kid": "rsa", "cty": "JWT"}, []byte(inner)),
		"JWS JSON serialization":     string(flattened),
		"payload a JSON array":       ci.Sign(t, map[string]any{"alg": "RS256", "kid": "rsa"}, []byte(`[]`)),
		"payload null":               ci.Sign(t, map[string]any{"alg": "RS256", "kid": "rsa"}, []byte(`null`)),
		"payload not JSON":           ci.Sign(t, map[string]any{"alg": "RS256", "kid": "rsa"}, []byte(`iss=x`)),
		"two dots too many":          inner + "..",
		"base64 with padding":        parts[0] + "=." + parts[1] + "." + parts[2],
		"standard base64 characters": strings.NewReplacer("-", "+", "_", "/").Replace(inner),
	})
}

// The JOSE header's typ is not checked (APIcast does not; RFC 9068's
// at+jwt is fine), the payload's typ is Keycloak's and must be Bearer
// exactly when present (oidc.lua: "typ = jwt_validators.opt_equals_any_of({
// 'Bearer' })").
func TestOIDCTypValues(t *testing.T) {
	ci := startCraftIssuer(t, false)
	og := startOIDCGatewayAt(t, ci.URL, "", nil, nil)
	for _, typ := range []any{"JWT", "at+jwt", "application/at+jwt", nil} {
		h := map[string]any{"alg": "RS256", "kid": "rsa"}
		if typ != nil {
			h["typ"] = typ
		}
		a := call(t, "GET", og.base+"/", bearerHeader(ci.Sign(t, h, signedPayload(t, ci.Claims("premium-key")))))
		assert.Equal(t, http.StatusOK, a.status, "header typ %v: %s", typ, a.body)
	}
	cases := map[string]string{}
	for _, typ := range []any{"ID", "bearer", "Refresh", "", 1, []any{"Bearer"}, nil} {
		c := ci.Claims("premium-key")
		c["typ"] = typ
		cases[fmt.Sprintf("payload typ %#v", typ)] = ci.Token(t, "RS256", c)
	}
	og.refusedAll(t, cases)
}

// Tokens are bounded (maxTokenLen): a properly signed one past the bound
// is refused unparsed, one within it passes, from the Authorization header
// as from the query.
func TestOIDCHugeTokensAreRefused(t *testing.T) {
	ci := startCraftIssuer(t, false)
	og := startOIDCGatewayAt(t, ci.URL, "", nil, nil)
	padded := func(n int) string {
		c := ci.Claims("premium-key")
		c["pad"] = strings.Repeat("p", n)
		return ci.Token(t, "RS256", c)
	}
	within := padded(maxTokenLen / 2)
	require.Less(t, len(within), maxTokenLen)
	assert.Equal(t, http.StatusOK, call(t, "GET", og.base+"/", bearerHeader(within)).status)
	over := padded(maxTokenLen)
	require.Greater(t, len(over), maxTokenLen)
	og.refusedAll(t, map[string]string{"a token over maxTokenLen": over})
	a := call(t, "GET", og.base+"/?access_token="+over, nil)
	assert.Equal(t, answer{403, "text/plain; charset=us-ascii", authFailedBody, a.header}, a, "from the query")
}

// RFC 7519 4: claim names must be unique, and a parser may take "the
// lexically last duplicate member name". The gateway reads the claims as
// go-oidc verified them: the last of exact duplicates wins for both (an
// azp given twice names the second client). But Go's JSON decoding of
// go-oidc's claims struct matches names case-insensitively while the claims
// map the gateway and the policies read does not: a payload with "ISS"
// naming the issuer and "iss" another, or "Iss" alone, passed go-oidc's
// issuer check while the claims carried another issuer or none. APIcast
// requires iss equal to the issuer (oidc.lua: "iss =
// jwt_validators.chain(jwt_validators.required(),
// jwt_validators.equals_any_of({ issuer }))").
func TestOIDCDuplicateClaimsReadAsVerified(t *testing.T) {
	ci := startCraftIssuer(t, false)
	og := startOIDCGatewayAt(t, ci.URL, "", nil, nil)
	sign := func(payload string) string {
		return ci.Sign(t, map[string]any{"alg": "RS256", "kid": "rsa"}, []byte(payload))
	}
	exp := time.Now().Add(5 * time.Minute).Unix()
	tail := fmt.Sprintf(`"sub":"u","aud":"account","exp":%d`, exp)

	a := call(t, "GET", og.base+"/", bearerHeader(sign(fmt.Sprintf(`{"iss":%q,"azp":"basic-key","azp":"premium-key",%s}`, ci.URL, tail))))
	require.Equal(t, http.StatusOK, a.status, a.body)
	assert.EqualValues(t, 1, og.hits(og.f.premiumApp), "the last azp is the client")
	assert.EqualValues(t, 0, og.hits(og.f.basicApp))

	og.refusedAll(t, map[string]string{
		"iss another issuer, ISS this one": sign(fmt.Sprintf(`{"iss":"https://evil.example","ISS":%q,"azp":"premium-key",%s}`, ci.URL, tail)),
		"Iss alone":                        sign(fmt.Sprintf(`{"Iss":%q,"azp":"premium-key",%s}`, ci.URL, tail)),
		"this iss, then another":           sign(fmt.Sprintf(`{"iss":%q,"iss":"https://evil.example","azp":"premium-key",%s}`, ci.URL, tail)),
	})
}

// aud is a string or an array of them (RFC 7519 4.1.3); empty is none. The
// client is azp when present, whatever aud holds (OpenID Connect Core 1.0
// section 2: azp is the party the token was issued to, needed when aud
// names several); without azp, a single aud. An azp that is present but
// names no client (empty, not a string) is refused, not replaced by aud:
// APIcast takes azp as it is ("local app_id = payload.azp") and finds no
// application for it.
func TestOIDCAudienceAndAuthorizedParty(t *testing.T) {
	ci := startCraftIssuer(t, false)
	og := startOIDCGatewayAt(t, ci.URL, "", nil, nil)
	edit := func(f func(c map[string]any)) string {
		c := ci.Claims("premium-key")
		f(c)
		return ci.Token(t, "RS256", c)
	}
	for name, tok := range map[string]string{
		"aud a string":                        edit(func(c map[string]any) { c["aud"] = "account" }),
		"aud an array":                        edit(func(c map[string]any) { c["aud"] = []any{"account", "other"} }),
		"azp and several audiences":           edit(func(c map[string]any) { c["aud"] = []any{"basic-key", "premium-key"} }),
		"azp an array: the first, as APIcast": edit(func(c map[string]any) { c["azp"] = []any{"premium-key", "basic-key"} }),
		"no azp, aud the client":              edit(func(c map[string]any) { delete(c, "azp"); c["aud"] = "premium-key" }),
	} {
		a := call(t, "GET", og.base+"/", bearerHeader(tok))
		assert.Equal(t, http.StatusOK, a.status, "%s: %s", name, a.body)
	}
	assert.EqualValues(t, 5, og.hits(og.f.premiumApp), "every one counted against premium-key")
	assert.EqualValues(t, 0, og.hits(og.f.basicApp))
	og.refusedAll(t, map[string]string{
		"aud empty":                 edit(func(c map[string]any) { c["aud"] = "" }),
		"aud an empty array":        edit(func(c map[string]any) { c["aud"] = []any{} }),
		"aud a number":              edit(func(c map[string]any) { c["aud"] = 42 }),
		"aud an array of numbers":   edit(func(c map[string]any) { c["aud"] = []any{42} }),
		"aud null":                  edit(func(c map[string]any) { c["aud"] = nil }),
		"azp empty, aud the client": edit(func(c map[string]any) { c["azp"] = ""; c["aud"] = "premium-key" }),
		"azp a number, aud client":  edit(func(c map[string]any) { c["azp"] = 7; c["aud"] = "premium-key" }),
		"azp null, aud the client":  edit(func(c map[string]any) { c["azp"] = nil; c["aud"] = "premium-key" }),
	})
}

// exp, nbf and iat are NumericDates (RFC 7519 2): numbers of seconds.
// Strings, negative, absurdly large or non-finite values of exp and nbf are
// refused, not read as "no limit"; the leeway stays oidcLeeway whatever the
// token says. iat need only be positive (oidc.lua: "iat =
// jwt_validators.opt_greater_than(0)").
func TestOIDCTimeClaimsAreBounded(t *testing.T) {
	ci := startCraftIssuer(t, false)
	og := startOIDCGatewayAt(t, ci.URL, "", nil, nil)
	now := time.Now()
	sign := func(claims string) string {
		return ci.Sign(t, map[string]any{"alg": "ES256", "kid": "ec"},
			[]byte(fmt.Sprintf(`{"iss":%q,"sub":"u","aud":"account","azp":"premium-key",%s}`, ci.URL, claims)))
	}
	exp := fmt.Sprintf(`"exp":%d`, now.Add(time.Minute).Unix())
	for name, tok := range map[string]string{
		"exp in 2100":            sign(`"exp":4102444800`),
		"exp fractional":         sign(fmt.Sprintf(`"exp":%d.5`, now.Add(time.Minute).Unix())),
		"exp 5 s ago (leeway)":   sign(fmt.Sprintf(`"exp":%d`, now.Add(-5*time.Second).Unix())),
		"nbf now":                sign(exp + fmt.Sprintf(`,"nbf":%d`, now.Unix())),
		"iat in the future":      sign(exp + fmt.Sprintf(`,"iat":%d`, now.Add(time.Hour).Unix())),
		"iat huge":               sign(exp + `,"iat":1e300`),
		"leeway field is no-op":  sign(exp + `,"leeway":1e9`),
		"nbf 5 s ahead (leeway)": sign(exp + fmt.Sprintf(`,"nbf":%d`, now.Add(5*time.Second).Unix())),
	} {
		a := call(t, "GET", og.base+"/", bearerHeader(tok))
		assert.Equal(t, http.StatusOK, a.status, "%s: %s", name, a.body)
	}
	og.refusedAll(t, map[string]string{
		"exp 11 s ago":      sign(fmt.Sprintf(`"exp":%d`, now.Add(-(oidcLeeway + time.Second)).Unix())),
		"exp a string":      sign(fmt.Sprintf(`"exp":"%d"`, now.Add(time.Minute).Unix())),
		"exp negative":      sign(`"exp":-1`),
		"exp zero":          sign(`"exp":0`),
		"exp 1e300":         sign(`"exp":1e300`),
		"exp 1e400":         sign(`"exp":1e400`),
		"exp null":          sign(`"exp":null`),
		"exp true":          sign(`"exp":true`),
		"nbf in a minute":   sign(exp + fmt.Sprintf(`,"nbf":%d`, now.Add(time.Minute).Unix())),
		"nbf 1e300":         sign(exp + `,"nbf":1e300`),
		"nbf a string":      sign(exp + `,"nbf":"0"`),
		"nbf null":          sign(exp + `,"nbf":null`),
		"iat zero":          sign(exp + `,"iat":0`),
		"iat negative":      sign(exp + `,"iat":-1`),
		"iat a string":      sign(exp + `,"iat":"1"`),
		"no sub, else fine": ci.Token(t, "RS256", map[string]any{"iss": ci.URL, "aud": "a", "azp": "premium-key", "exp": now.Add(time.Minute).Unix()}),
	})
}
