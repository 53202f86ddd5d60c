package client

import (
	"errors"
	"fmt"
	"net/http"
)

// noRedirect keeps the client from following a redirect: every call
// carries a credential, which a redirect would take to another address,
// over plain http even from an https:// home. Home never redirects its
// API, so a 3xx comes from something else on the way and is answered as
// an error that names where it pointed (see explainRedirect).
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// explainRedirect says what to do when a call was answered with a redirect,
// which the client does not follow (noRedirect); other errors pass
// unchanged. The answer's StatusError stays in the chain.
func explainRedirect(err error, resp *http.Response, base string) error {
	var se *StatusError
	if !errors.As(err, &se) || se.Code/100 != 3 {
		return err
	}
	to := "elsewhere"
	if loc, lerr := resp.Location(); lerr == nil {
		to = loc.Redacted()
	}
	return fmt.Errorf("%s redirects to %s, and the client follows no redirect, so that its credential goes nowhere else: give home's own address (%w)", base, to, err)
}
