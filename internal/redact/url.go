// Package redact shows URLs and configurations in messages, pages and plans
// without the secrets they may carry.
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
// when raw does not parse, or when an '@' after its host leaves its user
// info in doubt (see misreadUserInfo): the caller then names the URL by its
// role ("the --check-http URL").
func URL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	if hasAuthority(raw, u.Scheme) && misreadUserInfo(raw, u.Scheme) {
		return ""
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
	// Without "//" user info is not told apart: "user:pass@host:8500"
	// parses as scheme "user" and opaque "pass@host:8500", and a "?" or
	// "#" in the password moves the rest into the query or fragment. Only
	// what follows the last @ of raw is shown, up to its query or
	// fragment, since the "scheme" and all before the @ may be secret.
	if !hasAuthority(raw, u.Scheme) {
		if i := strings.LastIndexByte(raw, '@'); i >= 0 {
			rest := raw[i+1:]
			if j := strings.IndexAny(rest, "?#"); j >= 0 {
				rest = rest[:j]
			}
			return rest
		}
	}
	return u.String()
}

// hasAuthority tells whether raw, of scheme (as parsed, "" for none),
// names its host after "//", where url.Parse tells user info apart.
func hasAuthority(raw, scheme string) bool {
	if scheme != "" {
		raw = raw[len(scheme)+1:]
	}
	return strings.HasPrefix(raw, "//")
}

// misreadUserInfo tells whether raw, which names its host after "//", has
// an '@' after the end of its authority (the first "/", "?" or "#"): user
// info written with one of those raw in it, as a base64 token may hold a
// "/" and a password a "?", is read by url.Parse as host, path, query or
// fragment, so that none of what it shows can be trusted to hold no
// secret ("https://Zm9v/YmFy@host" has host "Zm9v" and path "/YmFy@host").
// An '@' in a path, query or fragment of its own is told from it by no
// parser; such a URL is not shown either.
func misreadUserInfo(raw, scheme string) bool {
	if scheme != "" {
		raw = raw[len(scheme)+1:]
	}
	raw = raw[len("//"):]
	end := strings.IndexAny(raw, "/?#")
	return end >= 0 && strings.Contains(raw[end:], "@")
}
