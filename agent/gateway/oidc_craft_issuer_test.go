package gateway

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/portolan/portolan/internal/testenv"
	"github.com/stretchr/testify/require"
)

// craftIssuer is an OpenID Connect issuer the test runs on loopback, as
// testenv.OIDCIssuer, that also lets the test write what an attacker or a
// broken issuer would: any JOSE header, raw payload bytes (duplicate
// members), signatures of any length, and any discovery document or JWKS
// answer. Its keys: an RSA 2048 key "rsa", a P-256 key "ec", and an RSA
// 1024 key "weak" (published only when the test adds it).
type craftIssuer struct {
	URL string // the issuer identifier: <server>/realms/craft

	srv  *httptest.Server
	rsa  *rsa.PrivateKey
	ec   *ecdsa.PrivateKey
	weak *rsa.PrivateKey

	mu        sync.Mutex
	published []jose.JSONWebKey
	// discovery and jwks, when set, answer in place of the defaults.
	discovery, jwks http.HandlerFunc

	discoveryFetches, jwksFetches atomic.Int64
	down                          atomic.Bool
}

// startCraftIssuer starts an issuer publishing "rsa" and "ec"; tls serves
// it over HTTPS (httptest's certificate: trust it with trustCraftIssuer).
func startCraftIssuer(t testing.TB, tls bool) *craftIssuer {
	t.Helper()
	ci := &craftIssuer{}
	var err error
	ci.rsa, err = rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	ci.weak, err = rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	ci.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	ci.published = []jose.JSONWebKey{
		{Key: ci.rsa.Public(), KeyID: "rsa", Algorithm: "RS256", Use: "sig"},
		{Key: ci.ec.Public(), KeyID: "ec", Algorithm: "ES256", Use: "sig"},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /realms/craft/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		ci.discoveryFetches.Add(1)
		ci.mu.Lock()
		h := ci.discovery
		ci.mu.Unlock()
		switch {
		case ci.down.Load():
			http.Error(w, "down", http.StatusServiceUnavailable)
		case h != nil:
			h(w, r)
		default:
			writeCraftJSON(w, ci.Document())
		}
	})
	mux.HandleFunc("GET /realms/craft/certs", func(w http.ResponseWriter, r *http.Request) {
		ci.jwksFetches.Add(1)
		ci.mu.Lock()
		h := ci.jwks
		set := jose.JSONWebKeySet{Keys: append([]jose.JSONWebKey(nil), ci.published...)}
		ci.mu.Unlock()
		switch {
		case ci.down.Load():
			http.Error(w, "down", http.StatusServiceUnavailable)
		case h != nil:
			h(w, r)
		default:
			writeCraftJSON(w, set)
		}
	})
	if tls {
		ci.srv = httptest.NewTLSServer(mux)
	} else {
		ci.srv = httptest.NewServer(mux)
	}
	t.Cleanup(ci.srv.Close)
	ci.URL = ci.srv.URL + "/realms/craft"
	return ci
}

func writeCraftJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// Document is the issuer's default discovery document.
func (ci *craftIssuer) Document() map[string]any {
	return map[string]any{
		"issuer":                                ci.URL,
		"jwks_uri":                              ci.URL + "/certs",
		"id_token_signing_alg_values_supported": []string{"RS256", "ES256"},
	}
}

// serveDiscovery and serveJWKS replace the default answers.
func (ci *craftIssuer) serveDiscovery(h http.HandlerFunc) {
	ci.mu.Lock()
	defer ci.mu.Unlock()
	ci.discovery = h
}

func (ci *craftIssuer) serveJWKS(h http.HandlerFunc) {
	ci.mu.Lock()
	defer ci.mu.Unlock()
	ci.jwks = h
}

// publish replaces the published keys.
func (ci *craftIssuer) publish(keys ...jose.JSONWebKey) {
	ci.mu.Lock()
	defer ci.mu.Unlock()
	ci.published = keys
}

// Claims are a valid token's claims for clientID.
func (ci *craftIssuer) Claims(clientID string) map[string]any {
	return testenv.ValidClaims(ci.URL, clientID)
}

// Token signs claims with "rsa" (RS256) or "ec" (ES256).
func (ci *craftIssuer) Token(t testing.TB, alg string, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	require.NoError(t, err)
	kid := map[string]string{"RS256": "rsa", "ES256": "ec"}[alg]
	return ci.Sign(t, map[string]any{"alg": alg, "typ": "JWT", "kid": kid}, payload)
}

// Sign makes a compact JWS of header and the raw payload, signed as
// header's alg says: RS256 with "rsa" (or "weak" when kid is "weak"),
// ES256 with "ec", HS256 keyed with the RSA key's public modulus, none
// unsigned.
func (ci *craftIssuer) Sign(t testing.TB, header map[string]any, payload []byte) string {
	t.Helper()
	h, err := json.Marshal(header)
	require.NoError(t, err)
	return ci.SignRaw(t, h, payload)
}

// SignRaw is Sign with the header's raw bytes.
func (ci *craftIssuer) SignRaw(t testing.TB, header, payload []byte) string {
	t.Helper()
	var hd map[string]any
	require.NoError(t, json.Unmarshal(header, &hd))
	alg, _ := hd["alg"].(string)
	kid, _ := hd["kid"].(string)
	enc := base64.RawURLEncoding
	input := enc.EncodeToString(header) + "." + enc.EncodeToString(payload)
	return input + "." + enc.EncodeToString(ci.signature(t, alg, kid, []byte(input)))
}

func (ci *craftIssuer) signature(t testing.TB, alg, kid string, input []byte) []byte {
	t.Helper()
	sum := sha256.Sum256(input)
	switch alg {
	case "RS256":
		key := ci.rsa
		if kid == "weak" {
			key = ci.weak
		}
		sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
		require.NoError(t, err)
		return sig
	case "ES256":
		r, s, err := ecdsa.Sign(rand.Reader, ci.ec, sum[:])
		require.NoError(t, err)
		return append(fixed(r, 32), fixed(s, 32)...)
	case "HS256":
		mac := hmac.New(sha256.New, ci.rsa.N.Bytes())
		mac.Write(input)
		return mac.Sum(nil)
	case "none":
		return nil
	}
	t.Fatalf("craft issuer: no signer for alg %q", alg)
	return nil
}

func fixed(n *big.Int, size int) []byte {
	b := make([]byte, size)
	return n.FillBytes(b)
}

// mustJWK is key's JWK JSON under kid.
func mustJWK(t testing.TB, key any, kid string) []byte {
	t.Helper()
	b, err := jose.JSONWebKey{Key: key, KeyID: kid}.MarshalJSON()
	require.NoError(t, err)
	return b
}
