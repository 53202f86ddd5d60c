package gateway

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// APIcast's oauth_dpop source is not at hand, only its manifest: "This
// policy executes OAuth 2.0 Demonstrating Proof of Possession (DPoP)
// (https://tools.ietf.org/html/rfc9449) for every API call". The oracle of
// these tests is RFC 9449 itself, quoted where each check is tested.

const dpopChain = `[{"name":"oauth_dpop","version":"builtin","enabled":true,"configuration":{}},
	{"name":"apicast","version":"builtin","enabled":true}]`

// dpopAlgsParam is the challenge's algs parameter (RFC 9449 section 7.1:
// "A space-delimited list of the JWS alg (algorithm) values ... that the
// resource server supports for DPoP proofs").
const dpopAlgsParam = `algs="ES256 ES384 ES512 PS256 PS384 PS512 RS256 RS384 RS512 EdDSA"`

// RFC 9449 section 7.1: "the access token is sent using the Authorization
// request header field ... using an authentication scheme of DPoP", with
// a proof in the DPoP header that passes section 4.3's checks. Proofs of
// ES256, PS256, RS256 and EdDSA keys pass, as do tokens of typ DPoP
// (Keycloak's bound tokens) and Bearer; htu is compared "ignoring any
// query and fragment parts" after "syntax-based normalization ... and
// scheme-based normalization" (case, percent-encoding, dot segments,
// default port). The upstream gets the request as it came; each is
// counted.
func TestPolicyOAuthDPoPValidProofPasses(t *testing.T) {
	og := startDPoPGateway(t, dpopChain)
	for _, alg := range []jose.SignatureAlgorithm{jose.ES256, jose.PS256, jose.RS256, jose.EdDSA} {
		cl := newDPoPClient(t, alg)
		tok := dpopBoundToken(t, og, "DPoP", cl.jkt(t))
		proof := cl.proof(t, dpopClaims("GET", og.base+"/items", tok))
		a := call(t, "GET", og.base+"/items?page=2", dpopHeaders(tok, proof))
		require.Equal(t, answer{200, "text/plain; charset=utf-8", "app", nil}, strip(a), string(alg))
		got := <-og.got
		assert.Equal(t, "DPoP "+tok, got.Header.Get("Authorization"))
		assert.Equal(t, proof, got.Header.Get("DPoP"))
	}
	cl := newDPoPClient(t, jose.ES256)
	tok := dpopBoundToken(t, og, "Bearer", cl.jkt(t))
	assert.Equal(t, 200, call(t, "GET", og.base+"/", dpopHeaders(tok, cl.proof(t, dpopClaims("GET", og.base+"/", tok)))).status, "typ Bearer")

	htu := "HTTP://" + strings.TrimPrefix(og.base, "http://") + "/a/./b/%7e%2f/../c?x=1#f"
	a := call(t, "GET", og.base+"/a/b/c", dpopHeaders(tok, cl.proof(t, dpopClaims("GET", htu, tok))))
	assert.Equal(t, 200, a.status, "normalized htu: %s", a.header.Get("WWW-Authenticate"))
	assert.EqualValues(t, 6, og.hits(og.f.premiumApp))
}

// Without the policy, the gateway reads no DPoP scheme: the token would
// pass unproved. The request has no credentials (APIcast's "Authentication
// parameters missing"), and a token of typ DPoP sent as a bearer is
// refused as before.
func TestPolicyOAuthDPoPSchemeReadOnlyWithThePolicy(t *testing.T) {
	og := startOIDCGateway(t, "", nil, nil)
	cl := newDPoPClient(t, jose.ES256)
	tok := dpopBoundToken(t, og, "Bearer", cl.jkt(t))
	a := call(t, "GET", og.base+"/", dpopHeaders(tok, cl.proof(t, dpopClaims("GET", og.base+"/", tok))))
	assert.Equal(t, answer{403, "text/plain; charset=us-ascii", "Authentication parameters missing\n", nil}, strip(a))
	a = call(t, "GET", og.base+"/", bearerHeader(dpopBoundToken(t, og, "DPoP", cl.jkt(t))))
	assert.Equal(t, answer{403, "text/plain; charset=us-ascii", "Authentication failed\n", nil}, strip(a))
}

// RFC 9449 section 7.1: the resource server "MUST check that a DPoP proof
// was also received in the DPoP header field"; section 4.3: "There is not
// more than one DPoP HTTP request header field" and "The DPoP HTTP request
// header field value is a single and well-formed JWT". A proof past 8 KiB
// is refused unread.
func TestPolicyOAuthDPoPProofRequired(t *testing.T) {
	og := startDPoPGateway(t, dpopChain)
	cl := newDPoPClient(t, jose.ES256)
	tok := dpopBoundToken(t, og, "DPoP", cl.jkt(t))
	valid := func() string { return cl.proof(t, dpopClaims("GET", og.base+"/", tok)) }

	assertDPoPRefused(t, call(t, "GET", og.base+"/", dpopHeaders(tok)), "invalid_dpop_proof", "no DPoP proof", "missing")
	assertDPoPRefused(t, call(t, "GET", og.base+"/", dpopHeaders(tok, valid(), valid())),
		"invalid_dpop_proof", "more than one DPoP header", "two DPoP headers, each valid")
	assertDPoPRefused(t, call(t, "GET", og.base+"/", dpopHeaders(tok, valid()+", "+valid())),
		"invalid_dpop_proof", "the DPoP proof is not a compact JWS", "two proofs joined in one header")
	big := dpopClaims("GET", og.base+"/", tok)
	big["pad"] = strings.Repeat("x", 8<<10)
	assertDPoPRefused(t, call(t, "GET", og.base+"/", dpopHeaders(tok, cl.proof(t, big))), "invalid_dpop_proof", "the DPoP proof is too large", "9 KiB")
	assert.EqualValues(t, 0, og.hits(og.f.premiumApp), "refused requests are not counted")
	assert.Equal(t, 4.0, policyEvents(og.reg, "oauth_dpop", "denied"))
	assert.Empty(t, og.got)
}

// RFC 9449 section 4.3: "The htm claim matches the HTTP method of the
// current request", "The htu claim matches the HTTP URI value for the
// HTTP request in which the JWT was received, ignoring any query and
// fragment parts", and, presented with an access token, "ensure that the
// value of the ath claim equals the hash of that access token" (section
// 4.2: "the base64url-encoded SHA-256 hash of the ASCII encoding of the
// associated access token's value"). Over plain HTTP the URI is http's.
func TestPolicyOAuthDPoPProofMustMatchRequest(t *testing.T) {
	og := startDPoPGateway(t, dpopChain)
	cl := newDPoPClient(t, jose.ES256)
	tok := dpopBoundToken(t, og, "DPoP", cl.jkt(t))
	with := func(edit func(map[string]any)) http.Header {
		c := dpopClaims("GET", og.base+"/items", tok)
		edit(c)
		return dpopHeaders(tok, cl.proof(t, c))
	}
	host := strings.TrimPrefix(og.base, "http://")
	for _, c := range []struct {
		name, desc string
		edit       func(map[string]any)
	}{
		{"htm POST", "htm is not the request's method", func(c map[string]any) { c["htm"] = "POST" }},
		{"htm get", "htm is not the request's method", func(c map[string]any) { c["htm"] = "get" }},
		{"htu path", "htu is not the request's URI", func(c map[string]any) { c["htu"] = og.base + "/other" }},
		{"htu host", "htu is not the request's URI", func(c map[string]any) { c["htu"] = "http://api.example.com/items" }},
		{"htu port", "htu is not the request's URI", func(c map[string]any) { c["htu"] = "http://127.0.0.1:1/items" }},
		{"htu https", "htu is not the request's URI", func(c map[string]any) { c["htu"] = "https://" + host + "/items" }},
		{"htu relative", "htu is not the request's URI", func(c map[string]any) { c["htu"] = "/items" }},
		{"ath of another token", "ath is not the hash of the access token", func(c map[string]any) {
			sum := sha256.Sum256([]byte(tok + "x"))
			c["ath"] = base64.RawURLEncoding.EncodeToString(sum[:])
		}},
		{"ath padded", "ath is not the hash of the access token", func(c map[string]any) {
			sum := sha256.Sum256([]byte(tok))
			c["ath"] = base64.URLEncoding.EncodeToString(sum[:])
		}},
	} {
		assertDPoPRefused(t, call(t, "GET", og.base+"/items", with(c.edit)), "invalid_dpop_proof", c.desc, c.name)
	}
	assert.Equal(t, 200, call(t, "GET", og.base+"/items", with(func(map[string]any) {})).status, "the same request, proved")
	assert.EqualValues(t, 1, og.hits(og.f.premiumApp))
}

// RFC 9449 section 4.3: "The creation time of the JWT, as determined by
// ... the iat claim ... is within an acceptable window"; section 11.1:
// "only accept DPoP proofs for a limited time after their creation
// (preferably only for a relatively brief period on the order of seconds
// or minutes)" and "MAY accept DPoP proofs that carry an iat time in the
// reasonably near future". The gateway's window: 60 s old, 10 s ahead.
func TestPolicyOAuthDPoPIatWindow(t *testing.T) {
	og := startDPoPGateway(t, dpopChain)
	cl := newDPoPClient(t, jose.ES256)
	tok := dpopBoundToken(t, og, "DPoP", cl.jkt(t))
	at := func(iat any) http.Header {
		c := dpopClaims("GET", og.base+"/", tok)
		c["iat"] = iat
		return dpopHeaders(tok, cl.proof(t, c))
	}
	const desc = "the DPoP proof's iat is outside the accepted window (60 s old, 10 s ahead)"
	now := time.Now()
	assertDPoPRefused(t, call(t, "GET", og.base+"/", at(now.Add(-2*time.Minute).Unix())), "invalid_dpop_proof", desc, "stale")
	assertDPoPRefused(t, call(t, "GET", og.base+"/", at(now.Add(time.Minute).Unix())), "invalid_dpop_proof", desc, "ahead")
	assertDPoPRefused(t, call(t, "GET", og.base+"/", at(-1)), "invalid_dpop_proof", desc, "negative")
	assertDPoPRefused(t, call(t, "GET", og.base+"/", at(1e13)), "invalid_dpop_proof", desc, "far future")
	assertDPoPRefused(t, call(t, "GET", og.base+"/", at(now.Format(time.RFC3339))), "invalid_dpop_proof",
		"the DPoP proof's claims are not a JSON object of strings and a numeric iat", "a date string")
	assert.Equal(t, 200, call(t, "GET", og.base+"/", at(now.Add(-30*time.Second).Unix())).status, "30 s old")
	assert.Equal(t, 200, call(t, "GET", og.base+"/", at(float64(now.UnixMilli())/1000+5)).status, "5 s ahead, with a fraction")
}

// RFC 9449 section 11.1: "Servers SHOULD store, in the context of the
// target URI, the jti value of each DPoP proof for the time window in
// which the respective DPoP proof JWT would be accepted", and "If a
// server detects a DPoP proof replay, it MUST refuse the request".
// The cache survives a new composition revision (the chain rebuilt), and
// a refused proof does not use up its jti.
func TestPolicyOAuthDPoPReplayedJTIIsRefused(t *testing.T) {
	og := startDPoPGateway(t, dpopChain)
	cl := newDPoPClient(t, jose.ES256)
	tok := dpopBoundToken(t, og, "DPoP", cl.jkt(t))
	claims := dpopClaims("GET", og.base+"/", tok)
	proof := cl.proof(t, claims)
	assert.Equal(t, 200, call(t, "GET", og.base+"/", dpopHeaders(tok, proof)).status)
	assertDPoPRefused(t, call(t, "GET", og.base+"/", dpopHeaders(tok, proof)), "invalid_dpop_proof", "the DPoP proof was used before", "replayed")
	claims["iat"] = time.Now().Unix() - 1
	assertDPoPRefused(t, call(t, "GET", og.base+"/", dpopHeaders(tok, cl.proof(t, claims))),
		"invalid_dpop_proof", "the DPoP proof was used before", "a new proof with the same jti")

	mapPOST(t, og) // a new revision: the chain is rebuilt
	assertDPoPRefused(t, call(t, "GET", og.base+"/", dpopHeaders(tok, proof)), "invalid_dpop_proof", "the DPoP proof was used before", "after a rebuild")

	c := dpopClaims("POST", og.base+"/", tok)
	assertDPoPRefused(t, call(t, "GET", og.base+"/", dpopHeaders(tok, cl.proof(t, c))), "invalid_dpop_proof", "htm is not the request's method",
		"refused for its htm...")
	c["htm"] = "GET"
	assert.Equal(t, 200, call(t, "GET", og.base+"/", dpopHeaders(tok, cl.proof(t, c))).status, "...its jti is still unused")
	assert.EqualValues(t, 2, og.hits(og.f.premiumApp))
}

// RFC 9449 section 4.3: "confirm that the public key to which the access
// token is bound matches the public key from the DPoP proof"; section
// 6.1: cnf's jkt is "the base64url encoding ... of the JWK SHA-256
// Thumbprint ... of the DPoP public key". Section 7.1's example answer
// for a mismatch: 'WWW-Authenticate: DPoP error="invalid_token",
// error_description="Invalid DPoP key binding"'. A token bound to no key
// has no binding to match.
func TestPolicyOAuthDPoPKeyBinding(t *testing.T) {
	og := startDPoPGateway(t, dpopChain)
	cl, other := newDPoPClient(t, jose.ES256), newDPoPClient(t, jose.ES256)
	for name, tok := range map[string]string{
		"bound to another key": dpopBoundToken(t, og, "DPoP", other.jkt(t)),
		"bound to no key":      dpopBoundToken(t, og, "DPoP", ""),
		"thumbprint padded":    dpopBoundToken(t, og, "DPoP", cl.jkt(t)+"="),
	} {
		a := call(t, "GET", og.base+"/", dpopHeaders(tok, cl.proof(t, dpopClaims("GET", og.base+"/", tok))))
		assertDPoPRefused(t, a, "invalid_token", "Invalid DPoP key binding", name)
	}
	assert.EqualValues(t, 0, og.hits(og.f.premiumApp))
}

// RFC 9449 section 4.3: "The typ JOSE Header Parameter has the value
// dpop+jwt", "The alg JOSE Header Parameter indicates a registered
// asymmetric digital signature algorithm ..., is not none", "The JWT
// signature verifies with the public key contained in the jwk JOSE Header
// Parameter" and "The jwk JOSE Header Parameter does not contain a
// private key".
func TestPolicyOAuthDPoPRefusesUnsafeProofs(t *testing.T) {
	og := startDPoPGateway(t, dpopChain)
	cl := newDPoPClient(t, jose.ES256)
	key := cl.key.(*ecdsa.PrivateKey)
	tok := dpopBoundToken(t, og, "DPoP", cl.jkt(t))
	claims := func() map[string]any { return dpopClaims("GET", og.base+"/", tok) }
	public := jwkJSON(t, key.Public())
	hmacKey := func(input []byte) []byte {
		m := hmac.New(sha256.New, []byte("shared secret"))
		m.Write(input)
		return m.Sum(nil)
	}
	imposter, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	for _, c := range []struct {
		name, proof, desc string
	}{
		{"alg none", rawProof(t, map[string]any{"typ": "dpop+jwt", "alg": "none", "jwk": public}, claims(), nil),
			"the DPoP proof's alg is not an asymmetric algorithm the gateway accepts"},
		{"alg HS256", rawProof(t, map[string]any{"typ": "dpop+jwt", "alg": "HS256", "jwk": public}, claims(), hmacKey),
			"the DPoP proof's alg is not an asymmetric algorithm the gateway accepts"},
		{"private key in jwk", rawProof(t, map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": jwkJSON(t, key)}, claims(), es256(t, key)),
			"the DPoP proof's jwk holds a private key"},
		{"signed by another key", rawProof(t, map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": public}, claims(), es256(t, imposter)),
			"the DPoP proof's signature does not verify with its jwk"},
		{"no jwk", rawProof(t, map[string]any{"typ": "dpop+jwt", "alg": "ES256"}, claims(), es256(t, key)),
			"the DPoP proof has no jwk header"},
		{"RSA-1024", (&dpopClient{key: small, alg: jose.RS256}).proof(t, claims()), "the DPoP proof's RSA key is shorter than 2048 bits"},
		{"typ JWT", cl.proofTyped(t, "JWT", claims()), "the DPoP proof's typ is not dpop+jwt"},
		{"no typ", rawProof(t, map[string]any{"alg": "ES256", "jwk": public}, claims(), es256(t, key)), "the DPoP proof's typ is not dpop+jwt"},
		{"no ath", cl.proof(t, without(claims(), "ath")), "the DPoP proof lacks one of the claims jti, htm, htu, iat, ath"},
		{"no jti", cl.proof(t, without(claims(), "jti")), "the DPoP proof lacks one of the claims jti, htm, htu, iat, ath"},
		{"not a JWT", "not-a-jwt", "the DPoP proof is not a compact JWS"},
	} {
		assertDPoPRefused(t, call(t, "GET", og.base+"/", dpopHeaders(tok, c.proof)), "invalid_dpop_proof", c.desc, c.name)
	}
	assert.EqualValues(t, 0, og.hits(og.f.premiumApp))
	assert.Empty(t, og.got)
}

// RFC 9449 section 7.2: a protected resource supporting DPoP "MUST reject
// a DPoP-bound access token received as a bearer token", proof or not.
// The policy runs DPoP "for every API call": an unbound bearer token gets
// the bare challenge RFC 6750 section 3.1 gives a request "attempted using
// an unsupported authentication method" ("SHOULD NOT include an error
// code"), as does an unbound token in the access_token query parameter.
func TestPolicyOAuthDPoPBearerSchemeIsRefused(t *testing.T) {
	og := startDPoPGateway(t, dpopChain)
	cl := newDPoPClient(t, jose.ES256)
	tok := dpopBoundToken(t, og, "DPoP", cl.jkt(t))
	const desc = "a DPoP-bound access token must be sent with the DPoP scheme"
	assertDPoPRefused(t, call(t, "GET", og.base+"/", bearerHeader(tok)), "invalid_token", desc, "bound, as a bearer, no proof")
	h := bearerHeader(tok)
	h["Dpop"] = []string{cl.proof(t, dpopClaims("GET", og.base+"/", tok))}
	assertDPoPRefused(t, call(t, "GET", og.base+"/", h), "invalid_token", desc, "bound, as a bearer, with a proof")
	assertDPoPRefused(t, call(t, "GET", og.base+"/?access_token="+tok, nil), "invalid_token", desc, "bound, in the query")

	unbound := dpopBoundToken(t, og, "Bearer", "")
	for name, a := range map[string]answer{
		"bearer": call(t, "GET", og.base+"/", bearerHeader(unbound)),
		"query":  call(t, "GET", og.base+"/?access_token="+unbound, nil),
	} {
		assert.Equal(t, answer{401, "", "", nil}, strip(a), name)
		assert.Equal(t, "DPoP "+dpopAlgsParam, a.header.Get("WWW-Authenticate"), name)
	}
	assert.EqualValues(t, 0, og.hits(og.f.premiumApp))
}

// The URI a proof names is the one the client used: over TLS, https and
// the port it reached, over HTTP/2 (:authority) and HTTP/1.1 (Host) alike;
// an http:// htu is another URI.
func TestPolicyOAuthDPoPOverTLS(t *testing.T) {
	og, certs := startTLSOIDCGateway(t, dpopChain)
	og.f.proxy(t, publishedAtLoopback)
	_, err := og.g.Update(agentView(t, og.f.tx.Result(), og.f.svc.SystemName), og.f.placement(og.f.basic, og.f.premium))
	require.NoError(t, err)
	cl := newDPoPClient(t, jose.ES256)
	tok := dpopBoundToken(t, og, "DPoP", cl.jkt(t))
	for _, p := range mtlsProtocols {
		t.Run(p.name, func(t *testing.T) {
			c := tlsClient(certs.pool, p.h2)
			proof := cl.proof(t, dpopClaims("GET", og.base+"/x", tok))
			assert.Equal(t, mtlsAppAnswer, callMTLS(t, c, og.base+"/x", dpopHeaders(tok, proof)))
			plain := cl.proof(t, dpopClaims("GET", "http://"+strings.TrimPrefix(og.base, "https://")+"/x", tok))
			a := callMTLS(t, c, og.base+"/x", dpopHeaders(tok, plain))
			assert.Equal(t, answer{401, "application/json; charset=utf-8", `{"error": "invalid_dpop_proof"}`, nil}, a, "http:// htu")
		})
	}
}

// htu names the URI the client sent the request to (RFC 9449 section 4.2:
// "The HTTP target URI ... of the request to which the JWT is attached"):
// the path before url_rewriting changes it, and the Host before a headers
// policy after oauth_dpop rewrites it for the upstream.
func TestPolicyOAuthDPoPHTUIsTheClientsURI(t *testing.T) {
	og := startDPoPGateway(t, `[{"name":"oauth_dpop","version":"builtin","enabled":true,"configuration":{}},
		{"name":"headers","version":"builtin","enabled":true,"configuration":{"request":[{"op":"set","header":"Host","value":"internal.example"}]}},
		{"name":"url_rewriting","version":"builtin","enabled":true,"configuration":{"commands":[{"op":"sub","regex":"^/public","replace":""}]}},
		{"name":"apicast","version":"builtin","enabled":true}]`)
	cl := newDPoPClient(t, jose.ES256)
	tok := dpopBoundToken(t, og, "DPoP", cl.jkt(t))
	a := call(t, "GET", og.base+"/public/items", dpopHeaders(tok, cl.proof(t, dpopClaims("GET", og.base+"/public/items", tok))))
	require.Equal(t, 200, a.status, a.header.Get("WWW-Authenticate"))
	got := <-og.got
	assert.Equal(t, "/items", got.URL.Path, "rewritten for the upstream")
	for _, htu := range []string{og.base + "/items", "http://internal.example/public/items"} {
		a = call(t, "GET", og.base+"/public/items", dpopHeaders(tok, cl.proof(t, dpopClaims("GET", htu, tok))))
		assertDPoPRefused(t, a, "invalid_dpop_proof", "htu is not the request's URI", htu)
	}
}

// A key service has no verified token (Context.JWT): the policy refuses
// every request, as oauth_mtls does.
func TestPolicyOAuthDPoPWithoutOIDCService(t *testing.T) {
	cg := startChainGateway(t, dpopChain)
	a := call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
	assertDPoPRefused(t, a, "invalid_token", "no verified access token (oauth_dpop needs an OpenID Connect service)", "user_key")
	assert.Empty(t, cg.got)
}

// A proof names the resource it was made for (RFC 9449 section 4.2: htu is
// "The HTTP target URI ... of the HTTP request to which the JWT is
// attached"). APIcast picks the service by the request's host name among
// the service's hosts (its find_service: "hosts[h] == host"), those of the
// proxy's public base URLs (endpoint, sandbox_endpoint), so a proof made
// for another API, replayed with that API's Host, never reaches the
// service there. The gateway serves its one service whatever the Host:
// htu's host name must be one of the service's, in any case. Its port and
// scheme need not be the public URL's (behind a load balancer the gateway
// is reached on another port, and in plain HTTP where TLS ended before
// it), but they must still be the request's. An absolute-form target
// (RFC 9112 section 3.2.2) is the URI, whatever Host says.
func TestPolicyOAuthDPoPHTUMustNameTheServicesHost(t *testing.T) {
	og := startOIDCGateway(t, dpopChain, nil, func(p *composition.Proxy) {
		p.Endpoint, p.SandboxEndpoint = "https://api.example.com", "http://staging.example.com:8080"
	})
	cl := newDPoPClient(t, jose.ES256)
	tok := dpopBoundToken(t, og, "DPoP", cl.jkt(t))
	send := func(host, htu string) answer {
		return callHost(t, og.base+"/items", host, dpopHeaders(tok, cl.proof(t, dpopClaims("GET", htu, tok))))
	}
	const foreign = "htu's host is not one the service is published at (its endpoint or sandbox_endpoint)"
	for _, c := range []struct{ host, htu string }{
		{"other-api.example.com", "http://other-api.example.com/items"},
		{strings.TrimPrefix(og.base, "http://"), og.base + "/items"}, // where the gateway listens is no public host
		{"example.com", "http://example.com/items"},
		{"api.example.com.other.example", "http://api.example.com.other.example/items"},
	} {
		assertDPoPRefused(t, send(c.host, c.htu), "invalid_dpop_proof", foreign, c.host)
	}
	for _, c := range []struct{ host, htu string }{
		{"api.example.com", "http://api.example.com/items"},
		{"API.Example.com:8443", "http://api.example.com:8443/items"},
		{"staging.example.com:8080", "HTTP://Staging.Example.COM:8080/items"},
	} {
		a := send(c.host, c.htu)
		assert.Equal(t, 200, a.status, "%s: %s", c.host, a.header.Get("WWW-Authenticate"))
	}
	assertDPoPRefused(t, send("api.example.com", "http://api.example.com:8443/items"), "invalid_dpop_proof",
		"htu is not the request's URI", "htu's port is not the Host's")

	// Through the gateway as a forward proxy: "GET http://other-api.example.com/items".
	gw, err := url.Parse(og.base)
	require.NoError(t, err)
	viaProxy := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(gw)}, Timeout: 10 * time.Second}
	for target, want := range map[string]int{"http://other-api.example.com/items": 401, "http://api.example.com/items": 200} {
		req, err := http.NewRequest("GET", target, nil)
		require.NoError(t, err)
		req.Header = dpopHeaders(tok, cl.proof(t, dpopClaims("GET", target, tok)))
		resp, err := viaProxy.Do(req)
		require.NoError(t, err)
		_ = resp.Body.Close()
		assert.Equal(t, want, resp.StatusCode, target)
	}
	assert.EqualValues(t, 4, og.hits(og.f.premiumApp))
}
