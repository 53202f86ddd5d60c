package testenv

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
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// OIDCIssuer is an OpenID Connect issuer the test runs itself, on
// loopback: it serves the discovery document and the JWKS, and signs
// tokens with RS256 and ES256 keys made for the test. RotateKey replaces
// the signing keys, as an issuer rotating them does.
type OIDCIssuer struct {
	URL string // the issuer identifier: tokens' iss, discovery under it

	srv         *httptest.Server
	mu          sync.Mutex
	gen         int
	rsa         *rsa.PrivateKey
	ec          *ecdsa.PrivateKey
	published   []jose.JSONWebKey // the JWKS
	jwksFetches atomic.Int64
	down        atomic.Bool
}

// StartOIDCIssuer starts an issuer serving one RS256 and one ES256 key.
func StartOIDCIssuer(t testing.TB) *OIDCIssuer {
	t.Helper()
	iss := &OIDCIssuer{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		if iss.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		writeJSON(w, map[string]any{
			"issuer":                                iss.URL,
			"jwks_uri":                              iss.URL + "/protocol/openid-connect/certs",
			"authorization_endpoint":                iss.URL + "/protocol/openid-connect/auth",
			"token_endpoint":                        iss.URL + "/protocol/openid-connect/token",
			"response_types_supported":              []string{"code", "id_token", "token"},
			"subject_types_supported":               []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256", "ES256", "HS256"},
		})
	})
	mux.HandleFunc("GET /protocol/openid-connect/certs", func(w http.ResponseWriter, r *http.Request) {
		if iss.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		iss.jwksFetches.Add(1)
		iss.mu.Lock()
		set := jose.JSONWebKeySet{Keys: append([]jose.JSONWebKey(nil), iss.published...)}
		iss.mu.Unlock()
		writeJSON(w, set)
	})
	// Keycloak's layout: the issuer is a realm, its endpoints under it.
	iss.srv = httptest.NewUnstartedServer(http.StripPrefix("/realms/test", mux))
	iss.URL = "http://" + iss.srv.Listener.Addr().String() + "/realms/test"
	iss.newKeys(t, false)
	iss.srv.Start()
	t.Cleanup(iss.srv.Close)
	return iss
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// newKeys makes a new RS256 and ES256 signing key pair and publishes
// them, keeping the previous ones published when keepOld.
func (iss *OIDCIssuer) newKeys(t testing.TB, keepOld bool) {
	t.Helper()
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("oidc issuer: RSA key: %v", err)
	}
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("oidc issuer: EC key: %v", err)
	}
	iss.mu.Lock()
	defer iss.mu.Unlock()
	iss.gen++
	iss.rsa, iss.ec = rk, ek
	keys := []jose.JSONWebKey{
		{Key: rk.Public(), KeyID: iss.kid("rsa"), Algorithm: string(jose.RS256), Use: "sig"},
		{Key: ek.Public(), KeyID: iss.kid("ec"), Algorithm: string(jose.ES256), Use: "sig"},
	}
	if keepOld {
		keys = append(keys, iss.published...)
	}
	iss.published = keys
}

func (iss *OIDCIssuer) kid(kind string) string { return fmt.Sprintf("%s-%d", kind, iss.gen) }

// RotateKey makes new signing keys; the old ones stay in the JWKS when
// keepOld, else they are removed from it.
func (iss *OIDCIssuer) RotateKey(t testing.TB, keepOld bool) { iss.newKeys(t, keepOld) }

// JWKSFetches counts the JWKS requests served.
func (iss *OIDCIssuer) JWKSFetches() int64 { return iss.jwksFetches.Load() }

// SetDown makes discovery and the JWKS answer 503 (an unreachable issuer).
func (iss *OIDCIssuer) SetDown(down bool) { iss.down.Store(down) }

// Claims returns the claims of a valid token for clientID: iss, sub, aud,
// azp, typ Bearer, iat now, exp in five minutes. Edit them for the test.
func (iss *OIDCIssuer) Claims(clientID string) map[string]any { return ValidClaims(iss.URL, clientID) }

// ValidClaims are the claims of a valid token of issuer for clientID (see
// OIDCIssuer.Claims), for issuers a test makes itself.
func ValidClaims(issuer, clientID string) map[string]any {
	now := time.Now()
	return map[string]any{
		"iss": issuer, "sub": "user-1", "aud": "account", "azp": clientID, "typ": "Bearer",
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
	}
}

// Token signs claims with the current key of alg: "RS256" or "ES256";
// "none" makes an unsigned token and "HS256" one signed with HMAC (under
// the RSA key's modulus, as a key-confusion attack would).
func (iss *OIDCIssuer) Token(t testing.TB, alg string, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatalf("oidc issuer: claims: %v", err)
	}
	iss.mu.Lock()
	rk, ek := iss.rsa, iss.ec
	rkid, ekid := iss.kid("rsa"), iss.kid("ec")
	iss.mu.Unlock()
	var key crypto.Signer
	var kid string
	switch alg {
	case "RS256":
		key, kid = rk, rkid
	case "ES256":
		key, kid = ek, ekid
	case "none", "HS256":
		return unsafeToken(alg, rkid, payload, rk.N.Bytes())
	default:
		t.Fatalf("oidc issuer: no key for alg %q", alg)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg), Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatalf("oidc issuer: signer: %v", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatalf("oidc issuer: sign: %v", err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		t.Fatalf("oidc issuer: serialize: %v", err)
	}
	return s
}

// unsafeToken builds a token no gateway may accept: alg none (no
// signature), or HS256 keyed with public material.
func unsafeToken(alg, kid string, payload, secret []byte) string {
	enc := base64.RawURLEncoding
	head, _ := json.Marshal(map[string]string{"alg": alg, "typ": "JWT", "kid": kid})
	signing := enc.EncodeToString(head) + "." + enc.EncodeToString(payload)
	if alg == "none" {
		return signing + "."
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(signing))
	return signing + "." + enc.EncodeToString(mac.Sum(nil))
}
