package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/portolan/portolan/threescale"
)

// PageHandler serves one signed-in page. base is the Page every page
// starts from: the session's CSRF token (for the layout's log-out form) and
// the version are filled in; the handler sets Title, Nav and Data and
// passes it to c.render.
type PageHandler func(w http.ResponseWriter, r *http.Request, base Page)

// page wraps h with the session check every console page needs: a request
// without a live session is sent to the login form (303 to
// /ui/login?next=<this page>), one with a session reaches h with base.CSRF
// set. Every page but the login form and the static files is mounted
// through page (or signedIn for what is not a page).
func (c *Console) page(h PageHandler) http.Handler {
	return c.signedIn(true, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		csrf, _ := csrfFrom(r.Context())
		h(w, r, Page{CSRF: csrf, Version: c.cfg.Version})
	}))
}

// signedIn lets through requests of a live session (whose token still
// stands), with the session's CSRF token and access token in their
// context (csrfFrom, sessionAllows). Others are redirected to the
// login form when redirect is set (pages), or answered 401 (the event
// stream, which a browser does not navigate to).
func (c *Console) signedIn(redirect bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var id string
		if ck, err := r.Cookie(sessionCookie); err == nil {
			id = ck.Value
		}
		look := c.sessions.lookup
		if !redirect || r.Header.Get(liveHeader) != "" {
			look = c.sessions.peek // the page's own script, not the operator
		}
		ss, ok := look(id, c.cfg.Now())
		if ok && !c.tokenStands(ss.tokenID) {
			c.sessions.remove(id)
			ok = false
		}
		if !ok {
			if !redirect {
				w.Header().Set("Cache-Control", "no-store")
				http.Error(w, "console: sign in at "+Prefix+"login", http.StatusUnauthorized)
				return
			}
			http.Redirect(w, r, Prefix+"login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, signedInAs{csrf: ss.csrf, tokenID: ss.tokenID})))
	})
}

// tokenStands reports whether the stored access token a session logged in
// with would still be let in, by the rule login applies (consoleGrant):
// deleting the token, its expiry, a change of its scopes, or its user's
// suspension or demotion to member ends its console sessions with the
// revision that makes it. A configured token (0) always stands.
func (c *Console) tokenStands(tokenID int64) bool {
	if tokenID == 0 {
		return true
	}
	return consoleGrant(c.cfg.Tokens.StoredGrant(tokenID))
}

// consoleGrant is who may use the console: an admin's token (not a
// member's) with the account_management scope, read-only enough.
func consoleGrant(g threescale.Grant, ok bool) bool {
	return ok && !g.Member() && g.Allows(consoleScope, false)
}

// liveHeader marks a request the map page's script makes on its own (a
// refetch when the fleet changed). Such requests, and the event stream,
// do not count as the operator's activity: a tab left open on a changing
// fleet lets its session idle out, as one left on a quiet fleet does.
const liveHeader = "X-Portolan-Live"

type sessionKey struct{}

// signedInAs is what signedIn puts in a request's context of its session.
type signedInAs struct {
	csrf    string
	tokenID int64 // the stored access token it logged in with; 0 for a configured one
}

// csrfFrom returns the CSRF token of the request's session.
func csrfFrom(ctx context.Context) (string, bool) {
	s, ok := ctx.Value(sessionKey{}).(signedInAs)
	return s.csrf, ok
}

// sessionAllows reports whether the access token the request's session
// logged in with has scope (read-only is enough), as the 3scale API it
// mirrors would require: the traffic pages show what the Analytics API
// serves only to a token with the stats scope. A configured token has
// every scope.
func (c *Console) sessionAllows(ctx context.Context, scope string) bool {
	s, ok := ctx.Value(sessionKey{}).(signedInAs)
	if !ok {
		return false
	}
	if s.tokenID == 0 {
		return true
	}
	g, ok := c.cfg.Tokens.StoredGrant(s.tokenID)
	return ok && g.Allows(scope, false)
}

// localNext returns next when it is a path of the console to return to
// after logging in, else the map: an open redirect to another site, or a
// scheme-relative "//host", is never followed.
func localNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || next == "" || u.Scheme != "" || u.Host != "" || u.User != nil ||
		strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") ||
		!strings.HasPrefix(u.Path, Prefix) || strings.HasPrefix(u.Path, Prefix+"login") ||
		strings.HasPrefix(u.Path, Prefix+"logout") || strings.HasPrefix(u.Path, Prefix+"events") {
		return Prefix
	}
	return next
}
