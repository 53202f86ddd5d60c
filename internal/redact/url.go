// Package redact shows URLs in messages without the secrets they may carry.
//
// It imports nothing of Portolan.
package redact

import (
	"net/url"
	"strings"
)

// URL is raw as a message may show it: without its user info, query and
// fragment, where a webhook receiver, a health endpoint or a spec server
// takes its secret (a user name alone may be a token, as in
// https://TOKEN@host, or TOKEN:x@host:8500 without a scheme). It is ""
// when raw does not parse: the caller then names the URL by its role ("the
// --check-http URL").
func URL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
	// Without "//" user info is not told apart: "user:pass@host:8500"
	// parses as scheme "user" and opaque "pass@host:8500". Only what
	// follows the last @ is shown, since the "scheme" may be a secret too.
	if i := strings.LastIndexByte(u.Opaque, '@'); i >= 0 {
		return u.Opaque[i+1:]
	}
	return u.String()
}
