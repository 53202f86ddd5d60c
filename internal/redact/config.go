package redact

import (
	"net/url"
	"strings"
)

// The rules below tell a credential in a configuration (a policy chain's,
// say) from the rest, for every place that shows one: the console's pages,
// the plans of `portolan apply`. Masking a harmless value costs a little
// detail; showing a secret costs the secret, so they err wide.

// secretWords mark a configuration key (or a header name) whose value is a
// secret. Masking a harmless value costs a little detail; showing a secret
// costs the secret, so the list errs wide ("key" hides a rate limit's key
// definition too).
var secretWords = []string{"secret", "key", "token", "pass", "credential", "authorization", "cookie", "private", "signature"}

// secretFields name, beside an entry's "value", what the value is: the
// headers policy's {"header": "Authorization", "value": "Bearer …"},
// url_rewriting's {"arg": "api_key", "value": …}, routing's conditions
// {"match": "header", "header_name": "X-Api-Key", "value": …} (and
// "query_arg_name"); "name" for the rest.
var secretFields = []string{"header", "name", "arg", "header_name", "query_arg_name"}

// SecretName reports whether a configuration key or header name names a
// secret.
func SecretName(name string) bool {
	name = strings.ToLower(name)
	for _, w := range secretWords {
		if strings.Contains(name, w) {
			return true
		}
	}
	return false
}

// Config returns v, a decoded JSON configuration, with hide(leaf) in place
// of each leaf that holds a secret: the values under secret-sounding keys
// (every leaf below them when they are objects or arrays), the "value" of
// an entry whose header, name or argument (secretFields) sounds secret,
// every string that is a credential whatever its key (SecretValue); and
// with URLMasked of every other string. nil and booleans are kept. v is not
// changed.
func Config(v any, hide func(leaf any) any) any {
	return config(v, false, hide)
}

func config(v any, hidden bool, hide func(any) any) any {
	switch t := v.(type) {
	case map[string]any:
		secretHeader := false
		for _, f := range secretFields {
			if s, ok := t[f].(string); ok && SecretName(s) {
				secretHeader = true
			}
		}
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = config(e, hidden || SecretName(k) || (secretHeader && k == "value"), hide)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = config(e, hidden, hide)
		}
		return out
	case string:
		if hidden || SecretValue(t) {
			return hide(t)
		}
		return URLMasked(t)
	case nil, bool:
		return t
	default:
		if hidden {
			return hide(t)
		}
		return t
	}
}

// SecretValue reports whether a configuration string is a credential
// under any key: an embedded file (a data: URL, as token_introspection's
// "certificate" holds the client's RSA private key for private_key_jwt, and
// upstream_mtls and tls hold keys), a PEM private key, or an Authorization
// value: "Bearer " or "Basic " and one credential (a sentence such as
// "Basic plan users wait", or a template "Bearer {{ jwt.token }}", is none).
func SecretValue(s string) bool {
	t := strings.TrimSpace(s)
	if len(t) >= len("data:") && strings.EqualFold(t[:len("data:")], "data:") || strings.Contains(t, "PRIVATE KEY") {
		return true
	}
	scheme, cred, ok := strings.Cut(t, " ")
	cred = strings.TrimSpace(cred)
	return ok && (strings.EqualFold(scheme, "bearer") || strings.EqualFold(scheme, "basic")) &&
		cred != "" && !strings.ContainsAny(cred, " \t\n")
}

// URLMasked hides what a URL may carry of a secret: the password of its
// user information ("https://id:secret@idp/realm" becomes
// "https://id:xxxxx@idp/realm") and the value of each query parameter with
// a secret-sounding name ("?api_key=…" becomes "?api_key=xxxxx"); the rest
// is shown as written. Anything but a URL is returned as is. The authority
// is read by authorityEnd and its user information up to its last "@",
// not by url.Parse: a password written with a raw "?", "#" or "/" in it
// ("https://id:pa?ss@idp", "http://id:pa/ss@proxy:3128") is hidden all
// the same.
func URLMasked(s string) string {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return s
	}
	end := authorityEnd(rest)
	if at := strings.LastIndexByte(rest[:end], '@'); at >= 0 {
		if user, _, hasPassword := strings.Cut(rest[:at], ":"); hasPassword {
			rest = user + ":xxxxx" + rest[at:]
		}
	}
	base, query, hasQuery := strings.Cut(scheme+"://"+rest, "?")
	if !hasQuery {
		return base
	}
	return base + "?" + redactQuery(query)
}

// authorityEnd is where the authority of rest (a URL after its "://")
// ends: at its first "/", unless what precedes it is "user:password" that
// cannot be a host and port (the "port" is not digits) and an "@" follows.
// Then the password holds a raw "/" (random ones often do: gateways read
// user information up to its "@"), and the authority runs to the first "/"
// (or "?" or "#") after that "@".
func authorityEnd(rest string) int {
	end := strings.IndexByte(rest, '/')
	if end < 0 {
		return len(rest)
	}
	head := rest[:end]
	_, port, hasColon := strings.Cut(head, ":")
	if !hasColon || strings.Contains(head, "@") || strings.HasPrefix(head, "[") ||
		strings.Trim(port, "0123456789") == "" {
		return end
	}
	at := strings.IndexByte(rest[end:], '@')
	if at < 0 {
		return end
	}
	host := end + at + 1
	if next := strings.IndexAny(rest[host:], "/?#"); next >= 0 {
		return host + next
	}
	return len(rest)
}

// redactQuery replaces the value of every parameter of a raw query whose
// name sounds secret, keeping the others and their order as written.
func redactQuery(q string) string {
	params := strings.Split(q, "&")
	for i, p := range params {
		name, _, hasValue := strings.Cut(p, "=")
		if un, err := url.QueryUnescape(name); err == nil {
			name = un
		}
		if hasValue && SecretName(name) {
			params[i] = p[:strings.IndexByte(p, '=')] + "=xxxxx"
		}
	}
	return strings.Join(params, "&")
}
