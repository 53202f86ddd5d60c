package gateway

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// keySet is an issuer's JWKS as go-oidc's KeySet: keys cached, looked up by
// the token's kid, refetched when a kid is unknown (the rotation OpenID
// Connect Core 10.1.1 describes) or when the set is older than maxAge.
//
// go-oidc's own RemoteKeySet refetches on every unknown kid, so a client
// sending tokens with made-up kids would make the gateway fetch the JWKS
// once per request: here an unknown kid refetches at most once per
// minRefetch, and a set older than maxAge is refreshed in the background
// while it keeps answering, until maxStale: past it the issuer must answer
// before any token is accepted again.
//
// A refresh after a failed fetch, or of a set past maxStale, runs the
// issuer's discovery again (rediscover) instead: the jwks_uri may have
// moved. It is bounded as any refetch is, by minRefetch.
type keySet struct {
	ctx        context.Context // ends with the gateway
	url        string
	client     *http.Client
	minRefetch time.Duration // between refetches an unknown kid triggers
	maxAge     time.Duration // a set older than this is refreshed in the background
	maxStale   time.Duration // a set older than this is not used: the issuer must answer first
	refetched  func()        // counts each fetch (metrics)
	removed    func()        // called when a fetch finds a key gone: tokens it verified are no longer valid
	// rediscover runs discovery again and returns the keys it finds; nil:
	// the set is only ever fetched from url.
	rediscover func() (jose.JSONWebKeySet, error)

	keys atomic.Pointer[fetchedKeys]

	mu       sync.Mutex
	inflight chan struct{} // closed when the fetch in progress ends
	lastTry  time.Time     // when the last fetch started, under mu
	failed   bool          // the last fetch failed, under mu
}

type fetchedKeys struct {
	set jose.JSONWebKeySet
	at  time.Time
}

// maxJWKSKeys bounds the keys kept of one set.
const maxJWKSKeys = 64

// VerifySignature checks jwt's signature with the key its kid names and
// returns the payload. The algorithms were checked by the verifier; kid is
// required, as APIcast finds the key by kid alone.
func (k *keySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	jws, err := jose.ParseSignedCompact(jwt, oidcAlgs)
	if err != nil {
		return nil, fmt.Errorf("malformed JWT: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("a JWT has one signature")
	}
	sig := jws.Signatures[0]
	kid := sig.Header.KeyID
	if kid == "" {
		return nil, errors.New("the JWT names no key (kid)")
	}
	cur := k.keys.Load()
	if k.stale(cur) {
		// The issuer has not confirmed these keys for too long: try now,
		// as often as an unknown kid may, and refuse while it cannot.
		if cur = k.refetch(ctx); k.stale(cur) {
			return nil, fmt.Errorf("%w: its keys were last fetched over %s ago", errIssuerUnavailable, k.maxStale)
		}
	}
	key, ok := lookupKey(cur, kid, sig.Header.Algorithm)
	if !ok {
		if cur = k.refetch(ctx); cur != nil {
			key, ok = lookupKey(cur, kid, sig.Header.Algorithm)
		}
		if !ok {
			return nil, fmt.Errorf("no key %q in the issuer's JWKS", clip(kid))
		}
	} else if time.Since(cur.at) > k.maxAge {
		k.refreshInBackground()
	}
	return jws.Verify(key)
}

// stale reports whether set is missing or older than maxStale.
func (k *keySet) stale(set *fetchedKeys) bool {
	return set == nil || (k.maxStale > 0 && time.Since(set.at) > k.maxStale)
}

// keyRemoved reports whether a key of old is not in cur: its kid is gone,
// or names other key material (an issuer whose kids are not thumbprints,
// re-keyed under the same kid after a leak), so that the tokens the old
// key signed are no longer trusted.
func keyRemoved(old, cur jose.JSONWebKeySet) bool {
	for _, k := range old.Keys {
		if !slices.ContainsFunc(cur.Key(k.KeyID), func(c jose.JSONWebKey) bool { return sameKey(k, c) }) {
			return true
		}
	}
	return false
}

// sameKey reports whether a and b are the same public key.
func sameKey(a, b jose.JSONWebKey) bool {
	pub, ok := a.Key.(interface{ Equal(crypto.PublicKey) bool })
	return ok && pub.Equal(b.Key)
}

// lookupKey finds the signing key kid of alg's key type in set. Keys of
// different types may share a kid (RFC 7517 4.5), often without "alg": the
// type tells which one the token's alg means.
func lookupKey(set *fetchedKeys, kid, alg string) (*jose.JSONWebKey, bool) {
	if set == nil {
		return nil, false
	}
	for i := range set.set.Keys {
		key := &set.set.Keys[i]
		if key.KeyID != kid || key.Use == "enc" || (key.Algorithm != "" && key.Algorithm != alg) || !keyTypeOf(key, alg) {
			continue
		}
		return key, true
	}
	return nil, false
}

// keyTypeOf reports whether key is of the type alg signs with: RSA for
// RS256, EC on P-256 for ES256 (RFC 7518 3.4).
func keyTypeOf(key *jose.JSONWebKey, alg string) bool {
	switch jose.SignatureAlgorithm(alg) {
	case jose.RS256:
		_, ok := key.Key.(*rsa.PublicKey)
		return ok
	case jose.ES256:
		pub, ok := key.Key.(*ecdsa.PublicKey)
		return ok && pub.Curve == elliptic.P256()
	}
	return false
}

// refetch fetches the set again unless the last fetch started less than
// minRefetch ago, waiting for it (or for one in progress) at most as long
// as ctx allows; it returns the newest set.
func (k *keySet) refetch(ctx context.Context) *fetchedKeys {
	done := k.start(k.minRefetch)
	if done == nil {
		return k.keys.Load()
	}
	select {
	case <-done:
	case <-ctx.Done():
	}
	return k.keys.Load()
}

func (k *keySet) refreshInBackground() { k.start(k.minRefetch) }

// start begins a fetch unless one is in progress (whose channel it returns)
// or the last began less than after ago (nil).
func (k *keySet) start(after time.Duration) <-chan struct{} {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.inflight != nil {
		return k.inflight
	}
	if !k.lastTry.IsZero() && time.Since(k.lastTry) < after {
		return nil
	}
	k.lastTry = time.Now()
	done := make(chan struct{})
	k.inflight = done
	fetch := func() (jose.JSONWebKeySet, error) { return k.fetch(k.ctx) }
	if k.rediscover != nil && (k.failed || k.stale(k.keys.Load())) {
		fetch = k.rediscover
	}
	// Bounded by the client's timeout, and by the gateway's life.
	go func() {
		set, err := fetch()
		k.mu.Lock()
		k.failed = err != nil
		if err == nil {
			if old := k.keys.Swap(&fetchedKeys{set: set, at: time.Now()}); old != nil && k.removed != nil && keyRemoved(old.set, set) {
				k.removed()
			}
		}
		k.inflight = nil
		k.mu.Unlock()
		close(done)
	}()
	return done
}

// fetch GETs the JWKS.
func (k *keySet) fetch(ctx context.Context) (jose.JSONWebKeySet, error) {
	if k.refetched != nil {
		k.refetched()
	}
	var set jose.JSONWebKeySet
	var raw struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := getJSON(ctx, k.client, k.url, "JWKS", &raw); err != nil {
		return set, err
	}
	// An answer that is no JWK Set (RFC 7517 section 5: an object whose
	// "keys" member is an array of JWK objects), such as null or {}, is a
	// failed fetch, not an issuer that withdrew every key: the keys
	// fetched before stay in use.
	if raw.Keys == nil {
		return set, errors.New("the issuer's JWKS has no \"keys\" array: not a JWK Set")
	}
	for i, r := range raw.Keys {
		if len(r) == 0 || r[0] != '{' {
			return set, fmt.Errorf("the issuer's JWKS key %d is not a JSON object: not a JWK Set", i)
		}
	}
	// A key of a type go-jose does not know (or a bad one) is left out,
	// not the whole set; the set is bounded.
	for _, r := range raw.Keys {
		var key jose.JSONWebKey
		if key.UnmarshalJSON(r) == nil && usableKey(&key) && len(set.Keys) < maxJWKSKeys {
			set.Keys = append(set.Keys, key)
		}
	}
	return set, nil
}

// minRSABits is RFC 7518 3.3's: "A key of size 2048 bits or larger MUST
// be used with these algorithms" (RS256). Go's crypto/rsa verifies with
// 1024-bit keys, which are within reach of factoring.
const minRSABits = 2048

// usableKey reports whether key may verify a token: a public RSA key of at
// least minRSABits, or a public ECDSA key (go-jose checks its curve against
// the token's alg).
func usableKey(key *jose.JSONWebKey) bool {
	switch pub := key.Key.(type) {
	case *rsa.PublicKey:
		return pub.N.BitLen() >= minRSABits
	case *ecdsa.PublicKey:
		return true
	}
	return false
}

// clip bounds a client-given value that goes into an error.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64]
	}
	return s
}
