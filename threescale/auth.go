package threescale

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"net/url"
)

// maxTokenCandidates bounds how many values of one credential parameter are
// tried, so a request repeating access_token thousands of times costs no more
// than a few hashes.
const maxTokenCandidates = 8

// TokenChecker accepts requests carrying one of its access tokens, wherever
// 3scale accepts them: the access_token or legacy provider_key parameter
// (query, form or JSON body), or HTTP Basic auth with the token as user or
// password (the official client sends an empty user and the token as
// password).
//
// Tokens are kept and compared as SHA-256 digests with
// subtle.ConstantTimeCompare, so neither content nor length leaks through
// timing. Nothing here logs a token.
type TokenChecker struct {
	// BodyLimit bounds the body Middleware reads to look for a token in it;
	// 0 means DefaultBodyLimit.
	BodyLimit int64

	hashes [][sha256.Size]byte
	equal  func(a, b []byte) int // subtle.ConstantTimeCompare; tests observe it
}

// NewTokenChecker accepts the given tokens; empty ones are ignored, and a
// checker without tokens refuses everything.
func NewTokenChecker(tokens ...string) *TokenChecker {
	t := &TokenChecker{equal: subtle.ConstantTimeCompare}
	for _, tok := range tokens {
		if tok != "" {
			t.hashes = append(t.hashes, sha256.Sum256([]byte(tok)))
		}
	}
	return t
}

// Check reports whether r carries a valid token in its query string
// (access_token, provider_key) or Basic auth header. It never reads the body:
// see CheckParams and Middleware for tokens sent there.
func (t *TokenChecker) Check(r *http.Request) bool {
	if t == nil {
		return false
	}
	// On a malformed query ParseQuery still returns what it could parse.
	q, _ := url.ParseQuery(r.URL.RawQuery)
	cands := append(firstN(q["access_token"]), firstN(q["provider_key"])...)
	if user, pass, ok := r.BasicAuth(); ok {
		cands = append(cands, user, pass)
	}
	return t.match(cands)
}

// CheckParams reports whether the decoded params (query and body, from
// ReadParams) carry a valid access_token or provider_key.
func (t *TokenChecker) CheckParams(p *Params) bool {
	if t == nil || p == nil {
		return false
	}
	return t.match(append(firstN(p.All("access_token")), firstN(p.All("provider_key"))...))
}

// Middleware refuses requests without a valid token with 403 and 3scale's
// body ({"error":"Access denied"} or <error>Access denied</error>, by the
// path's format).
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
		if t.Check(r) {
			next.ServeHTTP(w, r)
			return
		}
		if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
			limit := int64(0)
			if t != nil {
				limit = t.BodyLimit
			}
			if p, err := ReadParams(w, r, limit); err == nil && t.CheckParams(p) {
				next.ServeHTTP(w, r.WithContext(contextWithParams(r.Context(), p)))
				return
			}
		}
		f, _ := FormatOf(r)
		WriteError(w, f, Forbidden(""))
	})
}

// match compares every candidate with every token, without stopping early,
// so the time taken says nothing about which comparison succeeded.
func (t *TokenChecker) match(cands []string) bool {
	equal := t.equal
	if equal == nil {
		equal = subtle.ConstantTimeCompare
	}
	ok := 0
	for _, c := range cands {
		if c == "" {
			continue
		}
		h := sha256.Sum256([]byte(c))
		for i := range t.hashes {
			ok |= equal(h[:], t.hashes[i][:])
		}
	}
	return ok == 1
}

func firstN(vs []string) []string {
	if len(vs) > maxTokenCandidates {
		vs = vs[:maxTokenCandidates]
	}
	return append([]string(nil), vs...)
}
