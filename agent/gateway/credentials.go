package gateway

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"

	"github.com/portolan/portolan/composition"
)

// maxCredentialLen bounds each credential a request presents; a longer one
// cannot be valid (3scale's keys are at most 256 bytes) and is refused as
// invalid without being compared.
const maxCredentialLen = 256

// Backend versions: how a service's applications present credentials.
const (
	backendUserKey = "1"
	backendAppID   = "2"
	backendOIDC    = "oidc"
)

// credentialSource extracts credentials from requests as a service's proxy
// settings say: where (query, headers or Basic authorization) and under which
// names. It is immutable; building it once per composition keeps the request
// path free of allocations for names.
type credentialSource struct {
	location string // composition.Credentials*
	appIDs   bool   // backend version 2: app_id + app_key, else user_key

	// Query parameter names, and the header keys of each name: APIcast
	// matches header names case-insensitively with '_' and '-' equal, so a
	// name has up to three canonical keys (as set, '_'→'-', '-'→'_').
	userKey, appID, appKey    string
	userKeyH, appIDH, appKeyH [3]string
}

// newCredentialSource builds the source of a service's proxy settings, with
// 3scale's defaults for names left empty.
func newCredentialSource(p *composition.Proxy, backendVersion string) credentialSource {
	name := func(v, def string) string {
		if v = strings.TrimSpace(v); v == "" {
			return def
		}
		return v
	}
	s := credentialSource{
		location: p.CredentialsLocation,
		appIDs:   backendVersion == backendAppID,
		userKey:  name(p.AuthUserKey, "user_key"),
		appID:    name(p.AuthAppID, "app_id"),
		appKey:   name(p.AuthAppKey, "app_key"),
	}
	s.userKeyH, s.appIDH, s.appKeyH = headerKeys(s.userKey), headerKeys(s.appID), headerKeys(s.appKey)
	return s
}

func headerKeys(name string) [3]string {
	return [3]string{
		textproto.CanonicalMIMEHeaderKey(name),
		textproto.CanonicalMIMEHeaderKey(strings.ReplaceAll(name, "_", "-")),
		textproto.CanonicalMIMEHeaderKey(strings.ReplaceAll(name, "-", "_")),
	}
}

// extract returns the credentials r presents; Empty reports none. Values
// are bounded by maxCredentialLen: a longer one is returned cut to one byte
// over the bound, which never matches a key.
func (s *credentialSource) extract(r *http.Request) composition.Credentials {
	var c composition.Credentials
	switch s.location {
	case composition.CredentialsHeaders:
		if s.appIDs {
			c.AppID = headerValue(r.Header, &s.appIDH)
			c.AppKey = headerValue(r.Header, &s.appKeyH)
		} else {
			c.UserKey = headerValue(r.Header, &s.userKeyH)
		}
	case composition.CredentialsAuthorization:
		user, pass, ok := basicAuth(r.Header.Get("Authorization"))
		if !ok {
			return c
		}
		if s.appIDs {
			c.AppID, c.AppKey = user, pass
		} else {
			c.UserKey = user
		}
	default: // query, 3scale's default; for other methods than GET, APIcast also reads a form body
		params := r.URL.RawQuery
		for range 2 {
			if s.appIDs {
				c.AppID = queryValue(params, s.appID)
				c.AppKey = queryValue(params, s.appKey)
			} else {
				c.UserKey = queryValue(params, s.userKey)
			}
			if !c.Empty() {
				break
			}
			if params = formBody(r); params == "" {
				break
			}
		}
	}
	c.UserKey, c.AppID, c.AppKey = bound(c.UserKey), bound(c.AppID), bound(c.AppKey)
	return c
}

func bound(s string) string {
	if len(s) > maxCredentialLen {
		return s[:maxCredentialLen+1]
	}
	return s
}

func headerValue(h http.Header, keys *[3]string) string {
	for _, k := range keys {
		if v := h[k]; len(v) > 0 && v[0] != "" {
			return strings.TrimSpace(v[0])
		}
	}
	return ""
}

// maxFormBody bounds the form body read for credentials.
const maxFormBody = 64 << 10

// formBody returns the urlencoded form body of a request other than GET or
// HEAD, when it has a length of at most maxFormBody, and puts the body back
// for forwarding; "" otherwise.
func formBody(r *http.Request) string {
	if r.Method == http.MethodGet || r.Method == http.MethodHead || r.Body == nil || r.Body == http.NoBody ||
		r.ContentLength <= 0 || r.ContentLength > maxFormBody {
		return ""
	}
	ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	if !strings.EqualFold(strings.TrimSpace(ct), "application/x-www-form-urlencoded") {
		return ""
	}
	b := make([]byte, r.ContentLength)
	n, err := io.ReadFull(r.Body, b)
	r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(b[:n]), r.Body))
	if err != nil {
		return ""
	}
	return string(b)
}

// queryValue returns the first value of name in a raw query, unescaped; it
// allocates only when the value is escaped.
func queryValue(raw, name string) string {
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		k, v, _ := strings.Cut(pair, "=")
		if k != name {
			if !queryEscaped(k) {
				continue
			}
			if uk, err := url.QueryUnescape(k); err != nil || uk != name {
				continue
			}
		}
		if !queryEscaped(v) {
			return v
		}
		uv, err := url.QueryUnescape(v)
		if err != nil {
			return "" // malformed: as if absent, as url.ParseQuery drops it
		}
		return uv
	}
	return ""
}

// queryEscaped reports whether a query's key or value needs unescaping (holds
// '%' or '+'): two vectorized byte searches, a tenth of what
// strings.ContainsAny costs with its per-call set, on every request's key.
func queryEscaped(s string) bool {
	return strings.IndexByte(s, '%') >= 0 || strings.IndexByte(s, '+') >= 0
}

// basicAuth parses "Basic base64(user:pass)"; the scheme is case-insensitive.
func basicAuth(h string) (user, pass string, ok bool) {
	const prefix = "basic "
	if len(h) < len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return "", "", false
	}
	enc := strings.TrimSpace(h[len(prefix):])
	if base64.StdEncoding.DecodedLen(len(enc)) > 2*maxCredentialLen+1 {
		return "", "", false
	}
	b, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return "", "", false
	}
	user, pass, ok = strings.Cut(string(b), ":")
	return user, pass, ok
}

// referrer returns what APIcast's 3scale_referrer policy sends apisonator as
// the referrer parameter: the request's Referer header (the first, as
// nginx's $http_referer), given only when the request has one. A request
// without it names no referrer, which apisonator refuses for an application
// with filters ("referrer is missing").
func referrer(h http.Header) (string, bool) {
	if v := h["Referer"]; len(v) > 0 {
		return v[0], true
	}
	return "", false
}
