package threescale

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/portolan/portolan/composition"
)

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
	UserID int64 // the provider user the token belongs to; 0 for none

	member *memberRights // nil: every right (see permissions.go)
}

// Allows reports whether the grant covers scope, and writing when write. A
// member's token covers a scope only while the member holds the scope's
// admin section.
func (g Grant) Allows(scope string, write bool) bool {
	return slices.Contains(g.Scopes, scope) && (g.Write || !write) && g.member.has(scopeSection(scope))
}

// Member reports whether the grant is a provider member's, limited by its
// admin sections and services.
func (g Grant) Member() bool { return g.member != nil }

// fullGrant is a configured token's: every scope, rw.
func fullGrant() Grant {
	return Grant{Scopes: slices.Clone(composition.AccessTokenScopes), Write: true}
}

// TokenChecker accepts requests carrying one of its access tokens, wherever
// 3scale accepts them: the access_token or legacy provider_key parameter
// (query, form or JSON body), or HTTP Basic auth with the token as user, or
// as password after a blank user (the official client's way). Each name
// carries one token, read as porta reads it (portaTokens).
//
// Two kinds of token are accepted: those given to NewTokenChecker (the
// bootstrap token: every scope, rw), and, with NewStoreTokenChecker, the
// access tokens stored in the composition (3scale's Access Tokens API),
// each with its scopes, permission and expiry; a provider member's is bound
// as well by its user's sections and services, and a suspended user's is
// refused (permissions.go). Neither is kept in plain
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

// tokenIndex maps the digests of one snapshot's usable access tokens to
// them and their users' rights.
type tokenIndex struct {
	snap     *composition.Snapshot
	byDigest map[[sha256.Size]byte]indexedToken
	byID     map[int64]indexedToken
}

type indexedToken struct {
	tok    *composition.AccessToken
	member *memberRights // nil: every right
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
	return t.grant(portaTokens(q, nil, basicToken(r)))
}

// AuthenticateToken returns the grant of one access token presented
// outside a 3scale request (the console's login form), checked exactly as
// Authenticate checks a token in a request.
func (t *TokenChecker) AuthenticateToken(tok string) (Grant, bool) {
	return t.grant([]string{tok})
}

// Authorize returns nil when r carries (in its query or Basic header) a
// token with scope, and permission rw when write; otherwise the 403 to
// answer: "Access denied" without a valid token, porta's "does not have the
// correct permissions" with one that falls short. A member's token is also
// held to its services on an Analytics API path: 404 for another's.
func (t *TokenChecker) Authorize(r *http.Request, scope string, write bool) error {
	g, ok := t.Authenticate(r)
	if err := authorizeGrant(g, ok, scope, write); err != nil {
		return err
	}
	return g.member.allowsStatsPath(r.URL.Path)
}

// authorizeRoute checks a grant against what route rt needs: its scope and
// permission, what no user may do to itself, and for a member its section
// and services (permissions.go).
func authorizeRoute(g Grant, ok bool, rt *Route, r *http.Request) error {
	scope := rt.Scope
	if ok && rt.OrScope != "" && !g.Allows(scope, rt.Writes()) {
		scope = rt.OrScope
	}
	if err := authorizeGrant(g, ok, scope, rt.Writes()); err != nil {
		return err
	}
	if err := g.allowsOnSelf(rt, r); err != nil {
		return err
	}
	return g.member.allowsRoute(rt, r)
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
// or replace every secret, so a read-only token may not make them, nor a
// provider member's.
func (t *TokenChecker) Check(r *http.Request) bool {
	g, ok := t.Authenticate(r)
	return authorizeGrant(g, ok, composition.ScopeAccountManagement, true) == nil && !g.Member()
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
	return t.grant(portaTokens(nil, p, ""))
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
// The tokens are the ones porta reads (portaTokens): a name the query sends
// is decided without touching the body, since the query's value wins. Only
// when that does not authenticate and the request has a body does the
// middleware read it with ReadParams (up to BodyLimit) for the names the
// query left out, Basic standing in for a name neither sends. Those params
// are then stored in the request context, and ReadParams (or ParamsFrom) in
// the handler returns them instead of reading the consumed body again. A
// body that cannot be read or parsed sends no token: without one elsewhere
// the client gets 403, not a parse error, since it is not authenticated;
// with one, the handler answers the parse error as it would have.
func (t *TokenChecker) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		serve := func(r *http.Request, g Grant) {
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), grantKey{}, g)))
		}
		q, _ := url.ParseQuery(r.URL.RawQuery) // what it could parse; the handler refuses the rest
		basic := basicToken(r)
		hasBody := r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0
		if !hasBody {
			if g, ok := t.grant(portaTokens(q, nil, basic)); ok {
				serve(r, g)
				return
			}
		} else if g, ok := t.grant(portaTokens(q, nil, "")); ok {
			serve(r, g) // the query's names: a body cannot override them
			return
		} else if _, err := readLimitedBody(w, r, t.bodyLimit()); err != nil {
			// The body is lost, so the handler cannot answer its error.
			if _, ok := t.grant(portaTokens(q, nil, basic)); ok {
				f, _ := FormatOf(r)
				WriteError(w, f, err)
				return
			}
		} else if p, err := ReadParams(w, r, t.bodyLimit()); err == nil {
			if g, ok := t.grant(portaTokens(q, p, basic)); ok {
				serve(r.WithContext(contextWithParams(r.Context(), p)), g)
				return
			}
		} else if g, ok := t.grant(portaTokens(q, nil, basic)); ok {
			serve(r, g) // the body is back in r: the handler answers its error
			return
		}
		f, _ := FormatOf(r)
		WriteError(w, f, Forbidden(""))
	})
}

func (t *TokenChecker) bodyLimit() int64 {
	if t == nil || t.BodyLimit <= 0 {
		return DefaultBodyLimit
	}
	return t.BodyLimit
}

// credentialNames are the parameters porta reads a token from, in its
// order: ApiAuthentication::ByAccessToken's, then ByProviderKey's.
var credentialNames = [...]string{"access_token", "provider_key"}

// portaTokens returns the tokens a request carries as porta reads them:
// for each credential name, params.fetch(name) { http_authentication }.
// Rails' params take a repeated name's last value (rackValue) and merge the
// query over the body (request_parameters.merge(query_parameters)), so a
// name has one value: "?access_token=good&access_token=bad" is bad. Basic
// (basic, from basicToken) stands in only for a name sent nowhere: a sent
// name hides it, even empty. query and body may be nil.
func portaTokens(query url.Values, body *Params, basic string) []string {
	out := make([]string, 0, len(credentialNames))
	for _, name := range credentialNames {
		v, ok := rackValue(query[name])
		if !ok {
			v, ok = body.Get(name)
		}
		if !ok {
			v = basic
		}
		if v != "" && (len(out) == 0 || out[0] != v) {
			out = append(out, v)
		}
	}
	return out
}

// basicToken is porta's http_authentication: of a Basic header's user and
// password, the first that is not blank (Rails' presence), so the user
// "me" with the token as password presents "me". The official client sends
// an empty user and the token as password. Credentials without a colon
// are all user, as porta splits them (split(":", 2)), where Go's BasicAuth
// refuses them.
func basicToken(r *http.Request) string {
	user, pass, ok := r.BasicAuth()
	if !ok {
		const prefix = "Basic "
		auth := r.Header.Get("Authorization")
		if len(auth) >= len(prefix) && strings.EqualFold(auth[:len(prefix)], prefix) {
			b, err := base64.StdEncoding.DecodeString(auth[len(prefix):])
			user, ok = string(b), err == nil
		}
	}
	switch {
	case !ok:
		return ""
	case strings.TrimSpace(user) != "":
		return user
	case strings.TrimSpace(pass) != "":
		return pass
	}
	return ""
}

// scopeGrant returns the grant of the first candidate that is a valid
// token with scope, of either permission.
func (t *TokenChecker) scopeGrant(cands []string, scope string) (Grant, bool) {
	g, ok := t.grant(cands)
	return g, ok && g.Allows(scope, false)
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
	var found *indexedToken
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
		if it, hit := idx.byDigest[h]; hit {
			want, _ := hex.DecodeString(it.tok.Digest)
			if equal(h[:], want) == 1 && !it.tok.Expired(t.clock()) {
				found = &it
			}
		}
	}
	switch {
	case ok == 1:
		return fullGrant(), true
	case found != nil:
		return found.grant(), true
	}
	return Grant{}, false
}

// StoredGrant returns what the stored access token id allows now, as grant
// would for the token itself: false once the token is deleted or expired,
// or its user suspended or gone; a member's rights as they are now. Whoever
// authenticated a token once and keeps acting on it (a console session)
// asks again with its id.
func (t *TokenChecker) StoredGrant(id int64) (Grant, bool) {
	idx := t.tokenIndex()
	if idx == nil {
		return Grant{}, false
	}
	it, ok := idx.byID[id]
	if !ok || it.tok.Expired(t.clock()) {
		return Grant{}, false
	}
	return it.grant(), true
}

func (it *indexedToken) grant() Grant {
	tok := it.tok
	return Grant{Scopes: slices.Clone(tok.Scopes), Write: tok.Writes(), ID: tok.ID, UserID: tok.UserID, member: it.member}
}

func (t *TokenChecker) clock() time.Time {
	if t.now == nil {
		return time.Now()
	}
	return t.now()
}

// tokenIndex returns the digest index of the current snapshot, built once
// per snapshot; nil without a store. A token of a user who is suspended or
// gone is left out, so it authenticates nothing.
func (t *TokenChecker) tokenIndex() *tokenIndex {
	if t.snapshot == nil {
		return nil
	}
	snap := t.snapshot()
	if idx := t.index.Load(); idx != nil && idx.snap == snap {
		return idx
	}
	idx := &tokenIndex{snap: snap, byDigest: make(map[[sha256.Size]byte]indexedToken, snap.AccessTokens.Len()),
		byID: make(map[int64]indexedToken, snap.AccessTokens.Len())}
	rights := map[int64]*memberRights{}
	usable := map[int64]bool{}
	for _, tok := range snap.AccessTokens.All() {
		it := indexedToken{tok: tok}
		if tok.UserID != 0 {
			if _, seen := usable[tok.UserID]; !seen {
				u, found := snap.Users.Get(tok.UserID)
				if found {
					rights[tok.UserID], found = rightsOf(u, snap)
				}
				usable[tok.UserID] = found
			}
			if !usable[tok.UserID] {
				continue
			}
			it.member = rights[tok.UserID]
		}
		var d [sha256.Size]byte
		if b, err := hex.DecodeString(tok.Digest); err == nil && len(b) == sha256.Size {
			copy(d[:], b)
			idx.byDigest[d] = it
			idx.byID[tok.ID] = it
		}
	}
	t.index.Store(idx)
	return idx
}
