package threescale

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"sync/atomic"
	"time"

	"github.com/portolan/portolan/composition"
)

// maxTokenCandidates bounds how many values of one credential parameter are
// tried, so a request repeating access_token thousands of times costs no more
// than a few hashes.
const maxTokenCandidates = 8

// DefaultMaxAccessTokens bounds the stored access tokens when
// TokenChecker.MaxTokens is 0.
const DefaultMaxAccessTokens = 1000

// errPermission is porta's answer to a valid token without the scope or the
// permission a call needs.
const errPermission = "Your access token does not have the correct permissions"

// Grant is what an authenticated token allows.
type Grant struct {
	Scopes []string
	Write  bool  // permission rw: any method; ro allows GET and HEAD only
	ID     int64 // the stored token's id; 0 for a configured (bootstrap) token
}

// Allows reports whether the grant covers scope, and writing when write.
func (g Grant) Allows(scope string, write bool) bool {
	return slices.Contains(g.Scopes, scope) && (g.Write || !write)
}

// fullGrant is a configured token's: every scope, rw.
func fullGrant() Grant {
	return Grant{Scopes: slices.Clone(composition.AccessTokenScopes), Write: true}
}

// TokenChecker accepts requests carrying one of its access tokens, wherever
// 3scale accepts them: the access_token or legacy provider_key parameter
// (query, form or JSON body), or HTTP Basic auth with the token as user or
// password (the official client sends an empty user and the token as
// password).
//
// Two kinds of token are accepted: those given to NewTokenChecker (the
// bootstrap token: every scope, rw), and, with NewStoreTokenChecker, the
// access tokens stored in the composition (3scale's Access Tokens API),
// each with its scopes, permission and expiry. Neither is kept in plain
// text: configured tokens as SHA-256 digests compared with
// subtle.ConstantTimeCompare, stored ones as their digest
// (composition.TokenDigest), looked up by the digest of what is presented.
// Nothing here logs a token.
type TokenChecker struct {
	// BodyLimit bounds the body Middleware reads to look for a token in it;
	// 0 means DefaultBodyLimit.
	BodyLimit int64
	// MaxTokens bounds the access tokens the Access Tokens API stores; 0
	// means DefaultMaxAccessTokens.
	MaxTokens int

	hashes   [][sha256.Size]byte
	equal    func(a, b []byte) int // subtle.ConstantTimeCompare; tests observe it
	snapshot func() *composition.Snapshot
	now      func() time.Time
	index    atomic.Pointer[tokenIndex]
}

// tokenIndex maps the digests of one snapshot's access tokens to them.
type tokenIndex struct {
	snap     *composition.Snapshot
	byDigest map[[sha256.Size]byte]*composition.AccessToken
}

// NewTokenChecker accepts the given tokens, each with every scope and rw;
// empty ones are ignored, and a checker without tokens refuses everything.
func NewTokenChecker(tokens ...string) *TokenChecker {
	t := &TokenChecker{equal: subtle.ConstantTimeCompare, now: time.Now}
	for _, tok := range tokens {
		if tok != "" {
			t.hashes = append(t.hashes, sha256.Sum256([]byte(tok)))
		}
	}
	return t
}

// NewStoreTokenChecker accepts the given bootstrap tokens (every scope, rw)
// and the unexpired access tokens of the current snapshot, with their own
// scopes and permission: a token created or deleted through the API works
// or stops working with the revision that stores the change.
func NewStoreTokenChecker(snapshot func() *composition.Snapshot, bootstrap ...string) *TokenChecker {
	t := NewTokenChecker(bootstrap...)
	t.snapshot = snapshot
	return t
}

func (t *TokenChecker) maxTokens() int {
	if t == nil || t.MaxTokens <= 0 {
		return DefaultMaxAccessTokens
	}
	return t.MaxTokens
}

// Authenticate returns the grant of the token r carries in its query string
// (access_token, provider_key) or Basic auth header. It never reads the
// body: see Middleware for tokens sent there.
func (t *TokenChecker) Authenticate(r *http.Request) (Grant, bool) {
	if t == nil {
		return Grant{}, false
	}
	// On a malformed query ParseQuery still returns what it could parse.
	q, _ := url.ParseQuery(r.URL.RawQuery)
	cands := append(firstN(q["access_token"]), firstN(q["provider_key"])...)
	if user, pass, ok := r.BasicAuth(); ok {
		cands = append(cands, user, pass)
	}
	return t.grant(cands)
}

// Authorize returns nil when r carries (in its query or Basic header) a
// token with scope, and permission rw when write; otherwise the 403 to
// answer: "Access denied" without a valid token, porta's "does not have the
// correct permissions" with one that falls short.
func (t *TokenChecker) Authorize(r *http.Request, scope string, write bool) error {
	g, ok := t.Authenticate(r)
	return authorizeGrant(g, ok, scope, write)
}

func authorizeGrant(g Grant, ok bool, scope string, write bool) error {
	switch {
	case !ok:
		return Forbidden("")
	case !g.Allows(scope, write):
		return Forbidden(errPermission)
	}
	return nil
}

// Check reports whether r carries a token that may use Portolan's own admin
// API (/admin/portolan/: export with secrets, import, join tokens, gossip
// keys): scope account_management with permission rw. Those calls hand out
// or replace every secret, so a read-only token may not make them.
func (t *TokenChecker) Check(r *http.Request) bool {
	return t.Authorize(r, composition.ScopeAccountManagement, true) == nil
}

// CheckParams reports whether the decoded params (query and body, from
// ReadParams) carry a valid access_token or provider_key.
func (t *TokenChecker) CheckParams(p *Params) bool {
	_, ok := t.paramsGrant(p)
	return ok
}

func (t *TokenChecker) paramsGrant(p *Params) (Grant, bool) {
	if t == nil || p == nil {
		return Grant{}, false
	}
	return t.grant(append(firstN(p.All("access_token")), firstN(p.All("provider_key"))...))
}

// grantKey carries the Grant Middleware authenticated.
type grantKey struct{}

// GrantFrom returns the grant Middleware stored in ctx.
func GrantFrom(ctx context.Context) (Grant, bool) {
	g, ok := ctx.Value(grantKey{}).(Grant)
	return g, ok
}

// Middleware refuses requests without a valid token with 403 and 3scale's
// body ({"error":"Access denied"} or <error>Access denied</error>, by the
// path's format), and passes the token's Grant on in the request context
// (GrantFrom) for the handler to check scope and permission.
//
// A token in the query string or Basic header is checked first, without
// touching the body. Only when there is none and the request has a body does
// the middleware read it with ReadParams (up to BodyLimit) and look for
// access_token there. Those params are then stored in the request context,
// and ReadParams (or ParamsFrom) in the handler returns them instead of
// reading the consumed body again. A body that cannot be read or parsed
// counts as carrying no token: the client gets 403, not a parse error,
// since it is not authenticated.
func (t *TokenChecker) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g, ok := t.Authenticate(r); ok {
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), grantKey{}, g)))
			return
		}
		if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
			limit := int64(0)
			if t != nil {
				limit = t.BodyLimit
			}
			if p, err := ReadParams(w, r, limit); err == nil {
				if g, ok := t.paramsGrant(p); ok {
					ctx := context.WithValue(contextWithParams(r.Context(), p), grantKey{}, g)
					next.ServeHTTP(w, r.WithContext(ctx))
					return
				}
			}
		}
		f, _ := FormatOf(r)
		WriteError(w, f, Forbidden(""))
	})
}

// matchScope reports whether a candidate is a valid token with scope, of
// either permission.
func (t *TokenChecker) matchScope(cands []string, scope string) bool {
	g, ok := t.grant(cands)
	return ok && g.Allows(scope, false)
}

// grant returns the grant of the first candidate that is a valid token.
//
// Configured tokens: every candidate is compared with every one, without
// stopping early, so the time taken says nothing about which comparison
// succeeded. Stored tokens are found by the SHA-256 of the candidate in a
// map: the lookup's timing depends only on that digest, which an attacker
// cannot steer towards a stored one without a preimage, then the digest is
// confirmed in constant time.
func (t *TokenChecker) grant(cands []string) (Grant, bool) {
	if t == nil {
		return Grant{}, false
	}
	equal := t.equal
	if equal == nil {
		equal = subtle.ConstantTimeCompare
	}
	ok := 0
	var found *composition.AccessToken
	idx := t.tokenIndex()
	for _, c := range cands {
		if c == "" {
			continue
		}
		h := sha256.Sum256([]byte(c))
		for i := range t.hashes {
			ok |= equal(h[:], t.hashes[i][:])
		}
		if idx == nil || found != nil {
			continue
		}
		if tok, hit := idx.byDigest[h]; hit {
			want, _ := hex.DecodeString(tok.Digest)
			if equal(h[:], want) == 1 && !tok.Expired(t.clock()) {
				found = tok
			}
		}
	}
	switch {
	case ok == 1:
		return fullGrant(), true
	case found != nil:
		return Grant{Scopes: slices.Clone(found.Scopes), Write: found.Writes(), ID: found.ID}, true
	}
	return Grant{}, false
}

func (t *TokenChecker) clock() time.Time {
	if t.now == nil {
		return time.Now()
	}
	return t.now()
}

// tokenIndex returns the digest index of the current snapshot, built once
// per snapshot; nil without a store.
func (t *TokenChecker) tokenIndex() *tokenIndex {
	if t.snapshot == nil {
		return nil
	}
	snap := t.snapshot()
	if idx := t.index.Load(); idx != nil && idx.snap == snap {
		return idx
	}
	idx := &tokenIndex{snap: snap, byDigest: make(map[[sha256.Size]byte]*composition.AccessToken, snap.AccessTokens.Len())}
	for _, tok := range snap.AccessTokens.All() {
		var d [sha256.Size]byte
		if b, err := hex.DecodeString(tok.Digest); err == nil && len(b) == sha256.Size {
			copy(d[:], b)
			idx.byDigest[d] = tok
		}
	}
	t.index.Store(idx)
	return idx
}

func firstN(vs []string) []string {
	if len(vs) > maxTokenCandidates {
		vs = vs[:maxTokenCandidates]
	}
	return append([]string(nil), vs...)
}
