package console

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// The login form's own CSRF token travels in a cookie scoped to the form
// and in a hidden field (double submit): before logging in there is no
// session to hold it.
const (
	loginCookie    = "portolan_login"
	loginCookieAge = time.Hour
	// loginBodyLimit bounds a login or logout form: a token and a CSRF
	// token, with room to spare.
	loginBodyLimit = 8 << 10
	// consoleScope is the access-token scope the console requires: the
	// one covering what it shows. A read-only token is enough.
	consoleScope = "account_management"
)

// loginData is what templates/login.html receives.
type loginData struct {
	CSRF  string
	Next  string
	Error string
}

// loginForm serves GET /ui/login.
func (c *Console) loginForm(w http.ResponseWriter, r *http.Request) {
	c.renderLogin(w, r, http.StatusOK, "")
}

// renderLogin draws the form with a fresh login CSRF token (or the one the
// browser already holds, so two open tabs both work).
func (c *Console) renderLogin(w http.ResponseWriter, r *http.Request, status int, problem string) {
	tok := ""
	if ck, err := r.Cookie(loginCookie); err == nil && len(ck.Value) == base64.RawURLEncoding.EncodedLen(secretBytes) {
		tok = ck.Value
	} else {
		tok = randomSecret()
	}
	http.SetCookie(w, c.cookie(loginCookie, tok, Prefix+"login", loginCookieAge))
	c.render(w, status, "login", Page{Title: "Log in", Data: loginData{
		CSRF: tok, Next: localNext(r.FormValue("next")), Error: problem,
	}})
}

// login serves POST /ui/login: a token that may read the console (any
// non-member token with the account_management scope, read-only or not)
// starts a session and returns to next.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, loginBodyLimit)
	if err := r.ParseForm(); err != nil {
		c.renderLogin(w, r, http.StatusBadRequest, "The form could not be read; try again.")
		return
	}
	ck, err := r.Cookie(loginCookie)
	if err != nil || !c.sameOrigin(r) || !sameSecret(r.PostFormValue("csrf"), ck.Value) {
		c.renderLogin(w, r, http.StatusForbidden, "The form expired or came from another site; try again.")
		return
	}
	// An attempt takes its slot among the client's failures before its
	// token is checked, and gives it back once the token is accepted:
	// attempts sent at once then get no more checks than the limit, where
	// counting after the check let them all pass while none had failed yet.
	var slot attempt
	if client, limited := c.clientKey(r); limited {
		var wait time.Duration
		var why refusal
		if slot, wait, why = c.logins.reserve(client, c.cfg.Now()); why != notRefused {
			secs := int((wait + time.Second - 1) / time.Second)
			from := "your address"
			if why == blockRefused {
				from = "your network"
			}
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			c.renderLogin(w, r, http.StatusTooManyRequests, fmt.Sprintf("Too many login attempts from %s: try again in %d seconds.", from, secs))
			return
		}
	}
	g, ok := c.cfg.Tokens.AuthenticateToken(r.PostFormValue("token"))
	if !ok {
		c.renderLogin(w, r, http.StatusUnauthorized, "That access token was not accepted: check it, or create one in the admin API.")
		return // the slot stays counted: a refused token
	}
	c.logins.release(slot)
	if !consoleGrant(g, true) {
		c.renderLogin(w, r, http.StatusForbidden, "That access token lacks the account_management scope, or belongs to a member: the console needs an admin's token.")
		return
	}
	if old, err := r.Cookie(sessionCookie); err == nil {
		c.sessions.remove(old.Value) // a new login replaces the session, never adds to it
	}
	id, _ := c.sessions.create(c.cfg.Now(), g.ID)
	http.SetCookie(w, c.cookie(sessionCookie, id, Prefix, sessionMaxAge))
	http.SetCookie(w, c.cookie(loginCookie, "", Prefix+"login", -1))
	http.Redirect(w, r, localNext(r.PostFormValue("next")), http.StatusSeeOther)
}

// logout serves POST /ui/logout (the layout's form): the session ends and
// its cookie is cleared.
func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, loginBodyLimit)
	csrf, _ := csrfFrom(r.Context())
	if err := r.ParseForm(); err != nil || !c.sameOrigin(r) || !sameSecret(r.PostFormValue("csrf"), csrf) {
		http.Error(w, "console: the log-out form expired or came from another site; reload the page and try again", http.StatusForbidden)
		return
	}
	if ck, err := r.Cookie(sessionCookie); err == nil {
		c.sessions.remove(ck.Value)
	}
	http.SetCookie(w, c.cookie(sessionCookie, "", Prefix, -1))
	http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
}

// cookie returns one of the console's cookies: HttpOnly, SameSite=Strict,
// Secure when operators reach the console over HTTPS (secure); a negative
// age deletes it.
func (c *Console) cookie(name, value, path string, age time.Duration) *http.Cookie {
	maxAge := int(age / time.Second)
	if age < 0 {
		maxAge = -1
	}
	return &http.Cookie{Name: name, Value: value, Path: path, MaxAge: maxAge,
		HttpOnly: true, Secure: c.secure(), SameSite: http.SameSiteStrictMode}
}
