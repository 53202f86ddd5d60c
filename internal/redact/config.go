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
// "query_arg_name", and {"match": "liquid", "liquid_value":
// "{{ headers['X-Token'] }}", "value": …}), logging's conditions
// {"match": "{{ headers['X-Api-Key'] }}", "value": …}; "name" for the rest.
var secretFields = []string{"header", "name", "arg", "header_name", "query_arg_name", "liquid_value", "match"}

// comparedFields are the two sides of a condition's operation (the
// conditional, rate_limit, maintenance_mode, custom_metrics and
// content_caching policies' {"left", "op", "right"}): when one side is a
// Liquid template naming a secret ("{{ headers['X-Api-Key'] }}"), the other
// is the literal the secret is compared with, and is hidden.
var comparedFields = map[string]string{"left": "right", "right": "left"}

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
// the side of a condition compared with a template naming a secret
// (comparedFields), every string that is a credential whatever its key
// (SecretValue); and
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
			out[k] = config(e, hidden || SecretName(k) || (secretHeader && k == "value") || comparedWithSecret(t, k), hide)
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

// comparedWithSecret reports whether the field k of entry t is a side of a
// condition (comparedFields) whose other side is a Liquid template naming a
// secret.
func comparedWithSecret(t map[string]any, k string) bool {
	other, ok := comparedFields[k]
	if !ok {
		return false
	}
	s, ok := t[other].(string)
	return ok && strings.Contains(s, "{{") && SecretName(s)
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
// "https://id:xxxxx@idp/realm"), the user information of a Redis URL that
// holds no password (APIcast's connect_redis takes "redis://secret@host"'s
// user as the password), and the value of each query parameter with a
// secret-sounding name ("?api_key=…" becomes "?api_key=xxxxx"); the rest
// is shown as written. Each URL of s is masked, not just the first: a
// value may hold several ("<https://a:s1@x>, <https://b:s2@y>", or one in
// another's query), the user information of each read up to the scheme of
// the next, and the query parameters of all from the first "?" on, split
// at each "&" or "?". Anything but a URL is returned as is. The authority
// is read by authorityEnd and its user information up to its last "@",
// not by url.Parse: a password written with a raw "?", "#" or "/" in it
// ("https://id:pa?ss@idp", "http://id:pa/ss@proxy:3128") is hidden all
// the same.
func URLMasked(s string) string {
	first := strings.Index(s, "://")
	if first < 0 {
		return s
	}
	var b strings.Builder
	for rest := s; ; {
		i := strings.Index(rest, "://")
		if i < 0 {
			b.WriteString(rest)
			break
		}
		start := i + len("://")
		next := len(rest)
		if j := strings.Index(rest[start:], "://"); j >= 0 {
			next = start + schemeStart(rest[start:start+j])
		}
		scheme := strings.ToLower(rest[schemeStart(rest[:i]):i])
		b.WriteString(rest[:start])
		b.WriteString(userInfoMasked(scheme, rest[start:next]))
		rest = rest[next:]
	}
	masked := b.String()
	base, query, hasQuery := strings.Cut(masked[first:], "?")
	if !hasQuery {
		return masked
	}
	return masked[:first] + base + "?" + redactQuery(query)
}

// passwordUsers are the schemes whose user information, when it holds no
// ":", is a password: APIcast's connect_redis authenticates to Redis with
// the user of "redis://secret@host:6379" when there is no password.
var passwordUsers = map[string]bool{"redis": true, "rediss": true}

// schemeStart is where the scheme that s ends with starts: after the last
// character of s that no scheme holds (RFC 3986 section 3.1: letters,
// digits, "+", "-" and ".").
func schemeStart(s string) int {
	i := len(s)
	for i > 0 {
		c := s[i-1]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '+' || c == '-' || c == '.') {
			break
		}
		i--
	}
	return i
}

// userInfoMasked is rest, what follows a URL's "://" up to the next URL,
// with the password of its user information hidden (or the whole user
// information, for passwordUsers); scheme is the URL's, in lower case.
func userInfoMasked(scheme, rest string) string {
	end := authorityEnd(rest)
	at := strings.LastIndexByte(rest[:end], '@')
	if at < 0 {
		return rest
	}
	if user, _, hasPassword := strings.Cut(rest[:at], ":"); hasPassword {
		return user + ":xxxxx" + rest[at:]
	}
	if at > 0 && passwordUsers[scheme] {
		return "xxxxx" + rest[at:]
	}
	return rest
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
// name sounds secret, keeping the others and their order as written. The
// value of a secret one is hidden up to the next "&", whatever it holds;
// another whose value holds a URL ("redirect=https://…?api_key=…", or
// the text before a second URL, as URLMasked reads it) ends where that
// URL's own query starts, and the parameters of that query are read in
// turn.
func redactQuery(q string) string {
	var b strings.Builder
	for q != "" {
		p, sep := q, ""
		if i := strings.IndexByte(q, '&'); i >= 0 {
			p, sep = q[:i], "&"
		}
		rawName, _, hasValue := strings.Cut(p, "=")
		name := rawName
		if un, err := url.QueryUnescape(name); err == nil {
			name = un
		}
		if hasValue && SecretName(name) {
			q = q[len(p)+len(sep):]
			p = rawName + "=xxxxx"
		} else {
			if u := strings.Index(p, "://"); u >= 0 && strings.Contains(p[u:], "?") {
				p, sep = p[:u+strings.IndexByte(p[u:], '?')], "?"
			}
			q = q[len(p)+len(sep):]
		}
		b.WriteString(p)
		b.WriteString(sep)
	}
	return b.String()
}
