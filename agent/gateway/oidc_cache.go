package gateway

import (
	"sync"
	"time"
)

// maxVerifiedTokens bounds the verified tokens an issuer keeps.
const maxVerifiedTokens = 4096

// verifiedTokens keeps the claims of tokens whose signature and issuer were
// verified, until they expire, as APIcast's oidc.lua keeps verified JWTs in
// an LRU cache: a client presents the same token on every call, and
// checking an RSA or ECDSA signature costs far more than the rest of a
// request. Only tokens the issuer signed get in, so a client cannot fill
// it with garbage. The time claims are checked again on every use; the
// claims are shared, so nothing may modify them.
type verifiedTokens struct {
	mu sync.Mutex
	m  map[string]verifiedToken
}

type verifiedToken struct {
	claims map[string]any
	until  time.Time // exp plus the leeway: useless past it
}

func (v *verifiedTokens) get(token string, now time.Time) (map[string]any, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	t, ok := v.m[token]
	if !ok {
		return nil, false
	}
	if now.After(t.until) {
		delete(v.m, token)
		return nil, false
	}
	return t.claims, true
}

func (v *verifiedTokens) put(token string, claims map[string]any, until time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.m == nil {
		v.m = map[string]verifiedToken{}
	}
	if len(v.m) >= maxVerifiedTokens {
		// Full: drop a quarter, expired first, else whichever come first
		// (map order is random, so no client can pin its entries).
		n := maxVerifiedTokens / 4
		now := time.Now()
		for k, t := range v.m {
			if now.After(t.until) {
				delete(v.m, k)
				n--
			}
		}
		for k := range v.m {
			if n <= 0 {
				break
			}
			delete(v.m, k)
			n--
		}
	}
	v.m[token] = verifiedToken{claims: claims, until: until}
}

// clear forgets every token: the issuer's keys changed.
func (v *verifiedTokens) clear() {
	v.mu.Lock()
	defer v.mu.Unlock()
	clear(v.m)
}
