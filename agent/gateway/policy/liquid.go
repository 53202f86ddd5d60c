package policy

import (
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Template is a value of APIcast's Liquid kind, compiled once when the chain
// is built: plain text with {{ variable }} outputs. The variables are those
// APIcast exposes to policies (its ngx_variable context and the policies'
// context): remote_addr, remote_port, server_addr and server_port (the
// gateway's end of the connection), uri and path (the request's path),
// request_uri (path and query), host, scheme, http_method (also
// request_method), request_id, headers['Name'] (several values joined with
// ", "), jwt.claim (nested with dots or ['key']), service.id and
// service.system_name. An unknown variable renders empty, as Liquid renders
// nil. Outputs may go through APIcast's Liquid filters that take no
// argument (upcase, encode_base64, escape_uri, ...: see liquidFilters), an
// array's first or last element ({{ jwt.aud | first }}), and may be quoted
// literals ({{ 'user:pass' | encode_base64 }}). Liquid tags
// ({% %}) and other filters are refused at build time rather than rendered
// wrongly.
type Template struct {
	parts []part
}

type part struct {
	text    string
	path    []string              // a variable's path; nil for text
	filters []func(string) string // applied in order to the variable's text
}

// CompileTemplate compiles s: as Liquid when liquid is true, else as plain
// text. field names it in errors.
func CompileTemplate(field, s string, liquid bool) (*Template, error) {
	if !liquid {
		return &Template{parts: []part{{text: s}}}, nil
	}
	t := &Template{}
	rest := s
	for rest != "" {
		if i, o := strings.Index(rest, "{%"), strings.Index(rest, "{{"); i >= 0 && (o < 0 || i < o) {
			return nil, Invalid(field, "Liquid tags ({%% ... %%}) are not supported by the Portolan gateway, only {{ variable }} outputs")
		}
		open := strings.Index(rest, "{{")
		if open < 0 {
			t.parts = append(t.parts, part{text: rest})
			break
		}
		if open > 0 {
			t.parts = append(t.parts, part{text: rest[:open]})
		}
		end := strings.Index(rest[open:], "}}")
		if end < 0 {
			return nil, Invalid(field, "unclosed {{ in %q", s)
		}
		expr := strings.TrimSpace(rest[open+2 : open+end])
		p, err := parseOutput(expr)
		if err != nil {
			return nil, Invalid(field, "%v", err)
		}
		t.parts = append(t.parts, p)
		rest = rest[open+end+2:]
	}
	return t, nil
}

// IsStatic reports whether t renders the same text for every request.
func (t *Template) IsStatic() bool {
	for _, p := range t.parts {
		if p.path != nil {
			return false
		}
	}
	return true
}

// parseOutput reads what is between {{ and }}: a variable or a quoted
// literal, then filters separated by |. A literal's output is computed here.
func parseOutput(expr string) (part, error) {
	head, rest := expr, ""
	if n := len(expr); n > 0 && (expr[0] == '\'' || expr[0] == '"') {
		end := strings.IndexByte(expr[1:], expr[0])
		if end < 0 {
			return part{}, fmt.Errorf("unclosed string in %q", expr)
		}
		head, rest = expr[:end+2], expr[end+2:]
	} else if i := strings.IndexByte(expr, '|'); i >= 0 {
		head, rest = expr[:i], expr[i:]
	}
	head, rest = strings.TrimSpace(head), strings.TrimSpace(rest)
	var filters []func(string) string
	var pick string // first or last: an array's element, taken before the text filters
	if rest != "" {
		if rest[0] != '|' {
			return part{}, fmt.Errorf("bad Liquid output %q", expr)
		}
		for i, name := range strings.Split(rest[1:], "|") {
			name = strings.TrimSpace(name)
			if name == "first" || name == "last" {
				if i > 0 || head == "" || head[0] == '\'' || head[0] == '"' {
					return part{}, fmt.Errorf("the Liquid filter %s takes an array's element: put it first, after a variable, in %q", name, expr)
				}
				pick = pickPrefix + name
				continue
			}
			f, ok := liquidFilters[name]
			if !ok {
				return part{}, fmt.Errorf("the Liquid filter %q is not supported by the Portolan gateway (supported, without arguments: %s)", name, liquidFilterNames())
			}
			filters = append(filters, f)
		}
	}
	if n := len(head); n >= 2 && (head[0] == '\'' || head[0] == '"') {
		v := head[1 : n-1]
		for _, f := range filters {
			v = f(v)
		}
		return part{text: v}, nil
	}
	path, err := parsePath(head)
	if err != nil {
		return part{}, err
	}
	if pick != "" {
		path = append(path, pick)
	}
	return part{path: path, filters: filters}, nil
}

// pickPrefix marks a path's last element as the first or last filter
// (parsePath refuses a key that starts with it).
const pickPrefix = "\x00"

// parsePath reads name(.name | ['key'] | ["key"] | [n])*.
func parsePath(expr string) ([]string, error) {
	var path []string
	s := expr
	ident := func() (string, error) {
		i := 0
		for i < len(s) && (s[i] == '_' || s[i] == '-' || s[i] >= 'a' && s[i] <= 'z' || s[i] >= 'A' && s[i] <= 'Z' || s[i] >= '0' && s[i] <= '9') {
			i++
		}
		if i == 0 {
			return "", fmt.Errorf("bad Liquid variable %q", expr)
		}
		id := s[:i]
		s = s[i:]
		return id, nil
	}
	first, err := ident()
	if err != nil {
		return nil, err
	}
	path = append(path, first)
	for s != "" {
		switch s[0] {
		case '.':
			s = s[1:]
			id, err := ident()
			if err != nil {
				return nil, err
			}
			path = append(path, id)
		case '[':
			end := strings.IndexByte(s, ']')
			if end < 0 {
				return nil, fmt.Errorf("bad Liquid variable %q: unclosed [", expr)
			}
			key := strings.TrimSpace(s[1:end])
			if n := len(key); n >= 2 && (key[0] == '\'' && key[n-1] == '\'' || key[0] == '"' && key[n-1] == '"') {
				if key = key[1 : n-1]; strings.HasPrefix(key, pickPrefix) {
					return nil, fmt.Errorf("bad Liquid variable %q: a key starting with NUL", expr)
				}
			} else if _, err := strconv.Atoi(key); err != nil {
				return nil, fmt.Errorf("bad Liquid variable %q: index %q is neither a quoted key nor a number", expr, key)
			}
			path = append(path, key)
			s = s[end+1:]
		default:
			return nil, fmt.Errorf("bad Liquid variable %q", expr)
		}
	}
	return path, nil
}

// Render renders t for the request of c, undefined variables as empty, as
// Liquid renders nil.
func (t *Template) Render(c *Context, env *Env) string {
	return t.RenderWith(c, env, (*Context).Lookup)
}

// RenderClaims renders t with claims as the Liquid context, as APIcast
// renders an OpenID Connect service's jwt_claim_with_client_id of type
// liquid ("{{ azp }}", "{{ aud[0] }}").
func (t *Template) RenderClaims(claims map[string]any) string {
	return t.RenderWith(nil, nil, func(_ *Context, _ *Env, path []string) string { return lookupAny(claims, path) })
}

// RenderWith is Render with the variables looked up by lookup: a phase that
// knows more variables than the request's (the log phase's status and
// response headers) looks its own up and the rest with Context.Lookup.
func (t *Template) RenderWith(c *Context, env *Env, lookup func(c *Context, env *Env, path []string) string) string {
	if len(t.parts) == 1 {
		p := &t.parts[0]
		if p.path == nil {
			return p.text
		}
		v := lookup(c, env, p.path) // "{{host}}": the value as it is, no copy
		for _, f := range p.filters {
			v = f(v)
		}
		return v
	}
	var b strings.Builder
	for _, p := range t.parts {
		if p.path == nil {
			b.WriteString(p.text)
			continue
		}
		v := lookup(c, env, p.path)
		for _, f := range p.filters {
			v = f(v)
		}
		b.WriteString(v)
	}
	return b.String()
}

// Lookup is the text of the Liquid variable at path for c's request.
func (c *Context) Lookup(env *Env, path []string) string {
	if path[0] != "jwt" && strings.HasPrefix(path[len(path)-1], pickPrefix) {
		return "" // first or last of a text: nil in Liquid; only claims hold arrays
	}
	r := c.R
	switch path[0] {
	case "remote_addr", "remote_port":
		host, port, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		if path[0] == "remote_port" {
			return port
		}
		return host
	case "server_addr", "server_port":
		return serverAddr(r, path[0] == "server_port")
	case "uri", "path":
		return r.URL.Path
	case "scheme":
		if r.TLS != nil {
			return "https"
		}
		return "http"
	case "request_uri":
		return r.URL.RequestURI()
	case "host":
		h := r.Host
		if strings.IndexByte(h, ':') >= 0 { // a Host without a port is most clients'; its error would allocate
			if hh, _, err := net.SplitHostPort(h); err == nil {
				h = hh
			}
		}
		return strings.ToLower(h)
	case "http_method", "request_method":
		return r.Method
	case "request_id":
		return c.requestID()
	case "headers":
		if len(path) == 2 {
			return strings.Join(requestHeader(r, textproto.CanonicalMIMEHeaderKey(path[1])), ", ")
		}
	case "jwt":
		return lookupAny(c.JWT, path[1:])
	case "service":
		if len(path) == 2 && env != nil {
			switch path[1] {
			case "id":
				return strconv.FormatInt(env.ServiceID, 10)
			case "system_name":
				return env.ServiceSystemName
			}
		}
	}
	return ""
}

// requestHeader is the values of r's header name (in canonical form) as
// nginx has them (ngx.req.get_headers, $http_NAME): Host included, which Go
// keeps apart, in Request.Host, out of the header map.
func requestHeader(r *http.Request, name string) []string {
	if name == "Host" {
		if r.Host == "" {
			return nil
		}
		return []string{r.Host}
	}
	return r.Header[name]
}

// serverAddr is nginx's $server_addr, or with port its $server_port, which
// APIcast's Liquid context holds (ngx_variable.lua): "an address of the
// server which accepted a request", the local end of the client's
// connection, an IPv6 one without brackets. The servers put it in the
// request's context (http.LocalAddrContextKey): net/http's, HTTP/2's and the
// gateway's own HTTP/1.1 loop. A request without one renders them empty.
func serverAddr(r *http.Request, port bool) string {
	a, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if a == nil {
		return ""
	}
	host, p, err := net.SplitHostPort(a.String())
	if err != nil {
		return ""
	}
	if port {
		return p
	}
	return host
}

// requestID is nginx's $request_id, which APIcast's Liquid context holds
// (ngx_variable.lua): "unique request identifier generated from 16 random
// bytes, in hexadecimal", the same for every value of one request.
func (c *Context) requestID() string {
	if c.reqID == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		c.reqID = hex.EncodeToString(b[:])
	}
	return c.reqID
}

// lookupAny walks JSON-like values (claims) by path. The first and last
// filters take an array's element; of anything else they give nil, as
// Liquid's do.
func lookupAny(v any, path []string) string {
	for _, k := range path {
		if k == pickPrefix+"first" || k == pickPrefix+"last" {
			x, _ := v.([]any)
			if len(x) == 0 {
				return ""
			}
			if v = x[0]; k == pickPrefix+"last" {
				v = x[len(x)-1]
			}
			continue
		}
		switch x := v.(type) {
		case map[string]any:
			v = x[k]
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(x) {
				return ""
			}
			v = x[i]
		default:
			return ""
		}
	}
	return Stringify(v)
}

// Stringify is a claim's text as Liquid outputs it.
func Stringify(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case map[string]any, []any:
		return fmt.Sprint(x)
	default:
		return fmt.Sprint(x)
	}
}

// LiquidContext is the Liquid context of c's request as the
// liquid_context_debug policy shows it: every variable Lookup knows, with
// the values of credentials and secrets masked.
func (c *Context) LiquidContext(env *Env) map[string]any {
	r := c.R
	out := map[string]any{}
	for _, name := range []string{"uri", "path", "host", "scheme", "remote_addr", "remote_port", "server_addr", "server_port", "http_method", "request_id"} {
		out[name] = c.Lookup(env, []string{name})
	}
	out["request_uri"] = maskedRequestURI(r)
	headers := make(map[string]string, len(r.Header)+1)
	if r.Host != "" {
		headers["Host"] = r.Host
	}
	for k, v := range r.Header {
		if secretName(k) {
			headers[k] = liquidMasked
			continue
		}
		headers[k] = strings.Join(v, ", ")
	}
	out["headers"] = headers
	if c.JWT != nil {
		out["jwt"] = c.JWT
	}
	if env != nil {
		out["service"] = map[string]any{"id": env.ServiceID, "system_name": env.ServiceSystemName}
	}
	return out
}

// maskedRequestURI is the request's path and query, the values of
// parameters that carry credentials masked.
func maskedRequestURI(r *http.Request) string {
	path := r.URL.EscapedPath()
	if r.URL.RawQuery == "" {
		return path
	}
	params := strings.Split(r.URL.RawQuery, "&")
	for i, kv := range params {
		k, _, _ := strings.Cut(kv, "=")
		if uk, err := url.QueryUnescape(k); err == nil && secretName(uk) {
			params[i] = k + "=" + liquidMasked
		}
	}
	return path + "?" + strings.Join(params, "&")
}

// liquidFilters are the Liquid filters without arguments that APIcast
// offers (Liquid's own and the NGINX functions it adds), by name. A filter
// that is not here is refused when the chain is built.
var liquidFilters = map[string]func(string) string{
	"upcase":        strings.ToUpper,
	"downcase":      strings.ToLower,
	"strip":         strings.TrimSpace,
	"lstrip":        func(s string) string { return strings.TrimLeft(s, " \t\r\n") },
	"rstrip":        func(s string) string { return strings.TrimRight(s, " \t\r\n") },
	"size":          func(s string) string { return strconv.Itoa(len(s)) },
	"encode_base64": func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) },
	"decode_base64": func(s string) string {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return "" // as ngx.decode_base64's nil
		}
		return string(b)
	},
	"escape_uri": escapeURI,
	"unescape_uri": func(s string) string {
		u, err := url.PathUnescape(s)
		if err != nil {
			return s
		}
		return u
	},
	"md5": func(s string) string { sum := md5.Sum([]byte(s)); return hex.EncodeToString(sum[:]) },
}

func liquidFilterNames() string {
	return strings.Join(slices.Sorted(maps.Keys(liquidFilters)), ", ")
}

// escapeURI is ngx.escape_uri (lua-nginx-module's URI-component escaping,
// which ngx.encode_args and ngx.req.set_uri_args use too): all but letters,
// digits and -_.~ escaped, a space as %20, never '+'.
func escapeURI(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }
