package swagger

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/portolan/portolan/composition"
)

// importTarget is the state a spec asks for.
type importTarget struct {
	service remoteService // no ID
	proxy   []proxyField  // proxy fields to set, in order; none leaves auth alone
	methods []remoteMetric
	rules   []importRule
	doc     remoteDoc // no ID or ServiceID
}

type proxyField struct{ name, value string }

type importRule struct {
	method, pattern string
	metric          string // the method's system_name
}

// Limits of what 3scale stores.
const (
	importMaxName        = 255
	importMaxDescription = 65535
	importMaxDocBody     = 4 << 20
)

// wellKnownOIDC ends an OpenID Connect discovery URL; the issuer is before it.
const wellKnownOIDC = "/.well-known/openid-configuration"

// importTargetOf derives what importing spec creates. Warnings say what it
// leaves alone.
func importTargetOf(spec *Spec, opts ImportOptions) (*importTarget, []string, error) {
	t := &importTarget{}
	title := oneLine(spec.Title())
	sys := opts.Service
	if sys == "" {
		sys = titleSystemName(title)
		if sys == "" {
			return nil, nil, fmt.Errorf("cannot derive a service system_name from the title %q: give --service", title)
		}
	} else if !validSystemName(sys) {
		return nil, nil, fmt.Errorf("invalid service system_name %q: use letters, digits, '_', '-', '.', '/', '[', ']'", sys)
	}
	if title == "" {
		title = sys
	}
	desc := clipString(strings.TrimSpace(spec.Description()), importMaxDescription)
	t.service = remoteService{Name: clipString(title, importMaxName), SystemName: sys, Description: desc}

	schemes, warnings := requiredSchemes(spec)
	backendVersion, proxy, authWarnings := authOf(schemes)
	t.service.BackendVersion, t.proxy = backendVersion, proxy
	warnings = append(warnings, authWarnings...)

	base := spec.BasePath()
	// Every service has the hits metric, the methods' parent: no method can
	// take its system_name.
	names := map[string]bool{"hits": true}
	friendly := make(map[string]bool)
	for _, op := range spec.Operations() {
		name := methodSystemName(op)
		for i := 2; names[name]; i++ {
			name = clipString(methodSystemName(op), importMaxName-8) + "_" + strconv.Itoa(i)
		}
		names[name] = true
		fn := oneLine(op.Summary)
		if fn == "" {
			fn = oneLine(op.ID)
		}
		if fn == "" {
			fn = name
		}
		fn = clipString(fn, importMaxName)
		if friendly[fn] {
			fn = clipString(clipString(fn, importMaxName-len(name)-3)+" ("+name+")", importMaxName)
		}
		friendly[fn] = true
		path := joinBasePath(base, op.Path)
		t.methods = append(t.methods, remoteMetric{SystemName: name, FriendlyName: fn, Description: op.Method + " " + path})
		pattern := path
		if !opts.PrefixMatching {
			pattern += "$"
		}
		if _, err := composition.ParsePattern(pattern); err != nil {
			return nil, nil, fmt.Errorf("operation %s %s: cannot become a mapping rule: %w", op.Method, op.Path, err)
		}
		t.rules = append(t.rules, importRule{method: op.Method, pattern: pattern, metric: name})
	}

	body := spec.JSON()
	if len(body) > importMaxDocBody {
		return nil, nil, fmt.Errorf("the spec is %d bytes as JSON; ActiveDocs hold at most %d", len(body), importMaxDocBody)
	}
	t.doc = remoteDoc{
		Name: t.service.Name, SystemName: sys, Description: clipString(desc, importMaxName), Published: true,
		// 3scale validates Swagger 2.0 and OpenAPI 3.0 only.
		SkipSwaggerValidations: !(spec.Version() == "2.0" || strings.HasPrefix(spec.Version(), "3.0")),
		Body:                   string(body),
	}
	return t, warnings, nil
}

// requiredSchemes returns the security schemes of the one security
// requirement a service can have: the spec's first. Requirements listed side
// by side, globally or (with none global) on different operations, are
// alternatives, any one of which is enough (OpenAPI's Security Requirement
// Object); only the schemes named in one requirement are asked for together,
// as app_id and app_key are. The others are named in a warning.
func requiredSchemes(spec *Spec) ([]SecurityScheme, []string) {
	reqs := securityRequirements(spec)
	if len(reqs) == 0 {
		return nil, nil
	}
	all := spec.SecuritySchemes()
	var out []SecurityScheme
	for _, name := range reqs[0] {
		if i := slices.IndexFunc(all, func(s SecurityScheme) bool { return s.Name == name }); i >= 0 {
			out = append(out, all[i])
		}
	}
	if len(reqs) == 1 {
		return out, nil
	}
	var others []string
	for i, r := range reqs[1:] {
		if i == 5 {
			others = append(others, fmt.Sprintf("%d more", len(reqs)-6))
			break
		}
		others = append(others, quoteNames(r))
	}
	return out, []string{fmt.Sprintf("the spec accepts any of %d security requirements and a 3scale service takes one: the first (%s), not %s",
		len(reqs), quoteNames(reqs[0]), strings.Join(others, ", "))}
}

// quoteNames renders the scheme names of a requirement: "a" and "b".
func quoteNames(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, " and ")
}

// securityRequirements returns the spec's distinct non-empty security
// requirements, each the names of the schemes it asks for together, in the
// order first met: the global ones, or else those of the operations.
func securityRequirements(spec *Spec) [][]string {
	var out [][]string
	seen := make(map[string]bool)
	add := func(reqs []any) {
		for _, r := range reqs {
			req, _ := r.(*object)
			if req == nil || len(req.keys) == 0 {
				continue
			}
			key := slices.Clone(req.keys)
			slices.Sort(key)
			k := strings.Join(key, "\x00")
			if !seen[k] {
				seen[k] = true
				out = append(out, slices.Clone(req.keys))
			}
		}
	}
	add(spec.root.arr("security"))
	if len(out) > 0 {
		return out
	}
	refs := spec.newRefs()
	paths := spec.root.obj("paths")
	for _, op := range spec.ops {
		add(refs.resolve(refs.resolve(paths.vals[op.Path]).obj(strings.ToLower(op.Method))).arr("security"))
	}
	return out
}

// authOf maps the spec's security schemes to a backend version and the proxy
// fields that go with it: one apiKey is a user_key, two are app_id and
// app_key, oauth2 or openIdConnect is OIDC. Anything else leaves the
// service's authentication alone ("" and no fields) with a warning.
func authOf(schemes []SecurityScheme) (string, []proxyField, []string) {
	var keys, oidc, other []SecurityScheme
	for _, s := range schemes {
		switch strings.ToLower(s.Type) {
		case "apikey":
			keys = append(keys, s)
		case "oauth2", "openidconnect":
			oidc = append(oidc, s)
		default:
			other = append(other, s)
		}
	}
	unchanged := func(why string) (string, []proxyField, []string) {
		return "", nil, []string{"authentication left unchanged: " + why}
	}
	switch {
	case len(schemes) == 0:
		return "", nil, nil
	case len(other) > 0:
		return unchanged(fmt.Sprintf("security scheme %q of type %q has no 3scale equivalent", other[0].Name, other[0].Type))
	case len(keys) > 0 && len(oidc) > 0:
		return unchanged(fmt.Sprintf("the spec mixes apiKey (%q) and %s (%q) schemes", keys[0].Name, oidc[0].Type, oidc[0].Name))
	case len(oidc) > 0:
		var fs []proxyField
		for _, s := range oidc {
			if s.OpenIDConnectURL != "" {
				fs = append(fs, proxyField{"oidc_issuer_endpoint", strings.TrimSuffix(s.OpenIDConnectURL, wellKnownOIDC)})
				break
			}
		}
		return "oidc", fs, nil
	case len(keys) > 2:
		return unchanged(fmt.Sprintf("%d apiKey schemes; 3scale takes one (user_key) or two (app_id and app_key)", len(keys)))
	}
	loc := ""
	for _, k := range keys {
		l, ok := map[string]string{"query": "query", "header": "headers"}[strings.ToLower(k.In)]
		switch {
		case !ok:
			return unchanged(fmt.Sprintf("apiKey scheme %q is in %q; 3scale reads credentials from the query or headers", k.Name, k.In))
		case k.ParamName == "" || strings.ContainsAny(k.ParamName, " \t\r\n"):
			return unchanged(fmt.Sprintf("apiKey scheme %q has an unusable parameter name %q", k.Name, k.ParamName))
		case loc != "" && l != loc:
			return unchanged("the two apiKey schemes are in different places (query and header)")
		}
		loc = l
	}
	if len(keys) == 1 {
		return "1", []proxyField{{"auth_user_key", keys[0].ParamName}, {"credentials_location", loc}}, nil
	}
	id, key := keys[0], keys[1]
	if isAppKey(id) && !isAppKey(key) {
		id, key = key, id
	}
	return "2", []proxyField{{"auth_app_id", id.ParamName}, {"auth_app_key", key.ParamName}, {"credentials_location", loc}}, nil
}

// isAppKey reports whether an apiKey scheme looks like the secret of a pair
// (app_key) rather than its identifier (app_id).
func isAppKey(s SecurityScheme) bool {
	n := strings.ToLower(s.ParamName)
	return strings.Contains(n, "key") || strings.Contains(n, "secret")
}

// methodSystemName is the operationId made a valid system_name, or else the
// method and path: GET /news/{id} is get_news_id.
func methodSystemName(op Operation) string {
	if s := sanitizeName(op.ID, false); s != "" {
		return clipString(s, importMaxName)
	}
	return clipString(sanitizeName(op.Method+"_"+op.Path, true), importMaxName)
}

// systemName derives a system_name from a title: "News API" is news_api.
func titleSystemName(title string) string {
	return clipString(sanitizeName(title, true), importMaxName)
}

// sanitize replaces each run of characters a system_name cannot hold by '_'
// and trims '_' at both ends; strict allows only lower-case letters and
// digits.
func sanitizeName(s string, strict bool) string {
	var b strings.Builder
	gap := false
	for _, r := range s {
		ok := r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			!strict && strings.ContainsRune("_-./[]", r))
		if !ok {
			gap = true
			continue
		}
		if gap && b.Len() > 0 {
			b.WriteByte('_')
		}
		gap = false
		if strict && r >= 'A' && r <= 'Z' {
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return strings.Trim(b.String(), "_")
}

func validSystemName(s string) bool {
	return s != "" && len(s) <= importMaxName && sanitizeName(s, false) == s
}

// oneLine makes s a name: names (a service's, a method's friendly_name) hold
// no control character, so each run of white space or control characters,
// such as the line breaks of a summary written as a YAML block, becomes one
// space; none is left at either end.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }), " ")
}

// joinPath puts the base path before an operation's path.
func joinBasePath(base, path string) string {
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	return strings.TrimSuffix(base, "/") + path
}

// clip cuts s to at most n bytes, on a rune boundary.
func clipString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	n = max(n, 0)
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
