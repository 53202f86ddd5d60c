package gateway

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// Fixtures of the oauth_dpop tests (policy_oauth_dpop_test.go): a gateway
// with the policy, a client that signs proofs, and tokens bound to its key.

// startDPoPGateway starts an OpenID Connect service's gateway with chain,
// published at the loopback address the test reaches it at.
func startDPoPGateway(t *testing.T, chain string) *oidcGateway {
	t.Helper()
	return startOIDCGateway(t, chain, nil, publishedAtLoopback)
}

// publishedAtLoopback makes the proxy's public base URL (endpoint) name
// 127.0.0.1, on another scheme and port than the test's gateway: htu's
// host must be one the service is published at, its port need not be the
// public URL's.
func publishedAtLoopback(p *composition.Proxy) { p.Endpoint = "https://127.0.0.1" }

// dpopClient is a client's DPoP key pair.
type dpopClient struct {
	key crypto.Signer
	alg jose.SignatureAlgorithm
}

func newDPoPClient(t *testing.T, alg jose.SignatureAlgorithm) *dpopClient {
	t.Helper()
	var key crypto.Signer
	var err error
	switch alg {
	case jose.ES256:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jose.PS256, jose.RS256:
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	case jose.EdDSA:
		_, key, err = ed25519.GenerateKey(rand.Reader)
	}
	require.NoError(t, err)
	return &dpopClient{key: key, alg: alg}
}

// jkt is the RFC 7638 SHA-256 thumbprint of the client's public key,
// base64url: what the token's cnf.jkt holds (RFC 9449 section 6.1).
func (cl *dpopClient) jkt(t *testing.T) string {
	t.Helper()
	k := jose.JSONWebKey{Key: cl.key.Public()}
	sum, err := k.Thumbprint(crypto.SHA256)
	require.NoError(t, err)
	return base64.RawURLEncoding.EncodeToString(sum)
}

// proof signs claims as a DPoP proof: typ dpop+jwt, the public key in jwk.
func (cl *dpopClient) proof(t *testing.T, claims map[string]any) string {
	t.Helper()
	return cl.proofTyped(t, "dpop+jwt", claims)
}

func (cl *dpopClient) proofTyped(t *testing.T, typ string, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: cl.alg, Key: cl.key}, (&jose.SignerOptions{EmbedJWK: true}).WithType(jose.ContentType(typ)))
	require.NoError(t, err)
	payload, err := json.Marshal(claims)
	require.NoError(t, err)
	jws, err := signer.Sign(payload)
	require.NoError(t, err)
	s, err := jws.CompactSerialize()
	require.NoError(t, err)
	return s
}

// dpopClaims are the claims of a valid proof for a request: a fresh jti,
// htm, htu, iat now and ath of token.
func dpopClaims(method, htu, token string) map[string]any {
	jti := make([]byte, 16)
	_, _ = rand.Read(jti)
	sum := sha256.Sum256([]byte(token))
	return map[string]any{"jti": base64.RawURLEncoding.EncodeToString(jti), "htm": method, "htu": htu,
		"iat": time.Now().Unix(), "ath": base64.RawURLEncoding.EncodeToString(sum[:])}
}

// dpopBoundToken is a token of the issuer for premium's client, of typ typ
// (Keycloak's DPoP-bound tokens have typ DPoP), bound to jkt (none when "").
func dpopBoundToken(t *testing.T, og *oidcGateway, typ, jkt string) string {
	t.Helper()
	c := og.iss.Claims("premium-key")
	c["typ"] = typ
	if jkt != "" {
		c["cnf"] = map[string]any{"jkt": jkt}
	}
	return og.iss.Token(t, "ES256", c)
}

// dpopHeaders sends token with the DPoP scheme and each proof in a DPoP
// header of its own.
func dpopHeaders(token string, proofs ...string) http.Header {
	h := http.Header{"Authorization": {"DPoP " + token}}
	if len(proofs) > 0 {
		h["Dpop"] = proofs
	}
	return h
}

// assertDPoPRefused checks a refusal: 401, the challenge naming code and
// desc (RFC 9449 section 7.1's WWW-Authenticate: DPoP error=...), and
// the body naming code.
func assertDPoPRefused(t *testing.T, a answer, code, desc, msg string) {
	t.Helper()
	assert.Equal(t, answer{401, "application/json; charset=utf-8", `{"error": "` + code + `"}`, nil}, strip(a), msg)
	assert.Equal(t, `DPoP error="`+code+`", error_description="`+desc+`", `+dpopAlgsParam, a.header.Get("WWW-Authenticate"), msg)
}

// rawProof assembles a compact JWS from header and claims, signed by sign
// over its signing input (none: no signature), for proofs no library
// would make.
func rawProof(t *testing.T, header, claims map[string]any, sign func([]byte) []byte) string {
	t.Helper()
	enc := base64.RawURLEncoding
	h, err := json.Marshal(header)
	require.NoError(t, err)
	c, err := json.Marshal(claims)
	require.NoError(t, err)
	input := enc.EncodeToString(h) + "." + enc.EncodeToString(c)
	var sig []byte
	if sign != nil {
		sig = sign([]byte(input))
	}
	return input + "." + enc.EncodeToString(sig)
}

// es256 signs input with key as JWS ES256 does: R and S, 32 bytes each.
func es256(t *testing.T, key *ecdsa.PrivateKey) func([]byte) []byte {
	return func(input []byte) []byte {
		sum := sha256.Sum256(input)
		r, s, err := ecdsa.Sign(rand.Reader, key, sum[:])
		require.NoError(t, err)
		out := make([]byte, 64)
		r.FillBytes(out[:32])
		s.FillBytes(out[32:])
		return out
	}
}

// jwkJSON is key as a JWK object (a private key keeps its private members).
func jwkJSON(t *testing.T, key any) map[string]any {
	t.Helper()
	b, err := jose.JSONWebKey{Key: key}.MarshalJSON()
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	return m
}

func without(m map[string]any, key string) map[string]any { delete(m, key); return m }

// callHost is call with the Host header host.
func callHost(t *testing.T, target, host string, header http.Header) answer {
	t.Helper()
	req, err := http.NewRequest("GET", target, nil)
	require.NoError(t, err)
	req.Host = host
	req.Header = header
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return answer{resp.StatusCode, resp.Header.Get("Content-Type"), string(b), resp.Header}
}
