package gateway

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strings"

	"github.com/portolan/portolan/agent/gateway/policy"
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

// given says which of its backend version's credentials a request
// presented, empty or not. APIcast tells a credential sent empty
// ("?user_key=") from one not sent: nginx's $arg_ and $http_ variables are
// "" for the first and nil for the second, and only nil is missing.
type given uint8

const (
	givenUserKey given = 1 << iota
	givenAppID
	givenAppKey
)

// complete reports whether the request presented every credential of the
// service's backend version, as APIcast's proxy.lua requires before it asks
// backend ("for i=1,#credentials do ... if not val then return
// errors.no_credentials(service)"): a user_key; an app_id and an app_key.
func (s *credentialSource) complete(g given) bool {
	if s.appIDs {
		return g&(givenAppID|givenAppKey) == givenAppID|givenAppKey
	}
	return g&givenUserKey != 0
}

// none reports whether the request presented none of its version's
// credentials: default_credentials.lua's creds_missing ("user_key == nil";
// "app_id == nil and app_key == nil"), when the default ones are used.
func (s *credentialSource) none(g given) bool {
	if s.appIDs {
		return g&(givenAppID|givenAppKey) == 0
	}
	return g&givenUserKey == 0
}

// read returns the credentials r presents and which of them it presented,
// as APIcast's configuration/service.lua extracts them. Values are bounded
// by maxCredentialLen: a longer one is returned cut to one byte over the
// bound, which never matches a key.
func (s *credentialSource) read(r *http.Request) (composition.Credentials, given) {
	var c composition.Credentials
	var g given
	set := func(dst *string, bit given, v string, ok bool) {
		if ok && g&bit == 0 {
			*dst, g = v, g|bit
		}
	}
	switch s.location {
	case composition.CredentialsHeaders:
		if s.appIDs {
			v, ok := headerLookup(r.Header, &s.appIDH)
			set(&c.AppID, givenAppID, v, ok)
			v, ok = headerLookup(r.Header, &s.appKeyH)
			set(&c.AppKey, givenAppKey, v, ok)
		} else {
			v, ok := headerLookup(r.Header, &s.userKeyH)
			set(&c.UserKey, givenUserKey, v, ok)
		}
	case composition.CredentialsAuthorization:
		a := parseAuthorization(r.Header.Get("Authorization"))
		if s.appIDs {
			// "app_id = auth.userid or auth.token; app_key = auth.password"
			if a.basic {
				set(&c.AppID, givenAppID, a.user, true)
				set(&c.AppKey, givenAppKey, a.pass, true)
			} else {
				set(&c.AppID, givenAppID, a.token, a.bearer)
			}
		} else {
			// "user_key = auth.userid or auth.password or auth.token"
			set(&c.UserKey, givenUserKey, a.user, a.basic)
			set(&c.UserKey, givenUserKey, a.token, a.bearer)
		}
	default: // query, 3scale's default; APIcast also reads a form body for what the query lacks
		params := r.URL.RawQuery
		for range 2 {
			if s.appIDs {
				v, ok := queryLookup(params, s.appID)
				set(&c.AppID, givenAppID, v, ok)
				v, ok = queryLookup(params, s.appKey)
				set(&c.AppKey, givenAppKey, v, ok)
			} else {
				v, ok := queryLookup(params, s.userKey)
				set(&c.UserKey, givenUserKey, v, ok)
			}
			if s.complete(g) {
				break
			}
			if params = formBody(r); params == "" {
				break
			}
		}
	}
	c.UserKey, c.AppID, c.AppKey = bound(c.UserKey), bound(c.AppID), bound(c.AppKey)
	return c, g
}

func bound(s string) string {
	if len(s) > maxCredentialLen {
		return s[:maxCredentialLen+1]
	}
	return s
}

// headerLookup returns the first non-empty value of keys, trimmed, and
// whether any of them was sent at all: nginx's $http_ variable is "" for a
// header sent empty, which APIcast passes on as a credential.
func headerLookup(h http.Header, keys *[3]string) (string, bool) {
	found := false
	for _, k := range keys {
		if v := h[k]; len(v) > 0 {
			if s := strings.TrimSpace(v[0]); s != "" {
				return s, true
			}
			found = true
		}
	}
	return "", found
}

// maxFormBody bounds the form body read for credentials.
const maxFormBody = 64 << 10

// formBody returns the urlencoded form body of a POST, PUT or PATCH
// request (APIcast's read_body_args: "http_methods_with_body"), when it has
// a length of at most maxFormBody, and puts the body back for forwarding;
// "" otherwise. Asked again (credentials, then a rule's arguments), it
// answers from the body it put back, reading and copying nothing.
func formBody(r *http.Request) string {
	if f, ok := r.Body.(*readForm); ok {
		return f.form
	}
	if r.Method != http.MethodPost && r.Method != http.MethodPut && r.Method != http.MethodPatch || r.Body == nil || r.Body == http.NoBody ||
		r.ContentLength <= 0 || r.ContentLength > maxFormBody {
		return ""
	}
	ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	if !strings.EqualFold(strings.TrimSpace(ct), "application/x-www-form-urlencoded") {
		return ""
	}
	b := make([]byte, r.ContentLength)
	n, err := io.ReadFull(r.Body, b)
	if err != nil {
		r.Body = &unreadForm{Reader: io.MultiReader(bytes.NewReader(b[:n]), r.Body), Closer: r.Body, err: err}
		return ""
	}
	form := string(b)
	r.Body = &readForm{Reader: io.MultiReader(strings.NewReader(form), r.Body), Closer: r.Body, form: form}
	return form
}

// readForm is a request body put back after formBody read its form whole,
// keeping the form for formBody's next asking.
type readForm struct {
	io.Reader
	io.Closer
	form string
}

// requestArgs are the arguments a rule's query parameters are matched
// against: the URI's, and those of a urlencoded form body (formBody) over
// them, name by name, as APIcast's get_request_params reads them, so that
// "POST /orders?kind={k}" matches a form posting kind=book. A form that
// does not unescape whole gives the pairs it could.
func requestArgs(r *http.Request) url.Values {
	args := r.URL.Query()
	if body := formBody(r); body != "" {
		form, _ := url.ParseQuery(body)
		for name, values := range form {
			args[name] = values
		}
	}
	return args
}

// unreadForm is a request body put back after its form could not be read
// whole, keeping why: a client that stopped sending it is answered 408
// (formReadError), not told that its credentials are missing.
type unreadForm struct {
	io.Reader
	io.Closer
	err error
}

// formReadError is why formBody could not read r's form, nil when it could
// or did not try.
func formReadError(r *http.Request) error {
	if u, ok := r.Body.(*unreadForm); ok {
		return u.err
	}
	return nil
}

// queryLookup returns the first value of name in a raw query, unescaped,
// and whether the query has it: as nginx's $arg_ variable, only a "name="
// pair counts ("?user_key" has none), and an empty value is given, not
// missing. A value that does not unescape is returned as sent, as $arg_
// returns every value. It allocates only when the value is escaped.
func queryLookup(raw, name string) (string, bool) {
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		k, v, eq := strings.Cut(pair, "=")
		if !eq {
			continue
		}
		if k != name {
			if !queryEscaped(k) {
				continue
			}
			if uk, err := url.QueryUnescape(k); err != nil || uk != name {
				continue
			}
		}
		if !queryEscaped(v) {
			return v, true
		}
		if uv, err := url.QueryUnescape(v); err == nil {
			return uv, true
		}
		return v, true
	}
	return "", false
}

// queryEscaped reports whether a query's key or value needs unescaping (holds
// '%' or '+'): two vectorized byte searches, a tenth of what
// strings.ContainsAny costs with its per-call set, on every request's key.
func queryEscaped(s string) bool {
	return strings.IndexByte(s, '%') >= 0 || strings.IndexByte(s, '+') >= 0
}

// authorization is an Authorization header as APIcast's
// resty/http_authorization.lua reads it: Basic gives a user id and a
// password when the decoded value has a colon, Bearer a token (empty when
// the header has none after the scheme).
type authorization struct {
	basic, bearer     bool
	user, pass, token string
}

// parseAuthorization parses h. The scheme is matched case-insensitively, as
// RFC 7235 says (APIcast's parser table is case-sensitive). Basic splits at
// the last colon, as http_authorization.lua's greedy "^(.*):(.*)$" does, so
// an app_id may hold colons and an app_key may not; a value that is not
// base64, or longer than two credentials, gives nothing (APIcast fails with
// a Lua error on the first).
func parseAuthorization(h string) authorization {
	scheme, param, _ := strings.Cut(h, " ")
	param = strings.TrimSpace(param)
	switch {
	case strings.EqualFold(scheme, "bearer"):
		return authorization{bearer: true, token: param}
	case strings.EqualFold(scheme, "basic"):
		if base64.StdEncoding.DecodedLen(len(param)) > 2*maxCredentialLen+1 {
			return authorization{}
		}
		b, err := base64.StdEncoding.DecodeString(param)
		if err != nil {
			return authorization{}
		}
		i := bytes.LastIndexByte(b, ':')
		if i < 0 {
			return authorization{}
		}
		return authorization{basic: true, user: string(b[:i]), pass: string(b[i+1:])}
	}
	return authorization{}
}

// dpopToken returns the access token of r's Authorization header under RFC
// 9449's DPoP scheme ("Authorization: DPoP <token>", section 7.1) when the
// service's chain has oauth_dpop, which checks the proof that must come
// with it; ok is false otherwise, and for another scheme. The DPoP token
// is read before credentials_location's, so the token verified is the one
// the proof's ath names. Without the policy the scheme is not read: such a
// token would pass unproved, as a bearer token.
func (s *oidcService) dpopToken(r *http.Request) (tok string, ok bool) {
	if !s.dpop {
		return "", false
	}
	return policy.DPoPToken(r.Header.Get("Authorization"))
}

// hasDPoP reports whether chain runs oauth_dpop.
func hasDPoP(chain []composition.PolicyConfig) bool {
	return slices.ContainsFunc(chain, func(pc composition.PolicyConfig) bool { return pc.Enabled && pc.Name == "oauth_dpop" })
}
