package policy

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portolan/portolan/composition"
)

// soap is APIcast's "SOAP" policy: "This policy adds support for a very
// small subset of SOAP. It expects a SOAP action URI in the SOAPAction
// header or the Content-Type header. The SOAPAction header is used in v1.1
// of the SOAP standard, whereas the Content-Type header is used in v1.2 of
// the SOAP standard. The SOAPAction URI is matched against the mapping rules
// defined in the policy and calculates a usage based on that so it can be
// authorized and reported against 3scale's backend."
//
// In the rewrite phase, as soap.lua does:
//   - The action is the Content-Type's action parameter when its media type
//     is application/soap+xml (type and parameter name in any case, the value
//     quoted or not, spaces around ';' ignored), else the SOAPAction header;
//     when both carry one, the Content-Type's "takes precedence".
//   - An action with no ':' is matched as it came. One that is a URL with an
//     authority ("//host") is matched by its path, all that follows the
//     authority, query included, as lua-resty-url's parse gives it; a URL
//     whose path is empty or "/" counts nothing. Another one with a scheme
//     counts nothing (urn:..., which has no path), except an http(s) one
//     without an authority, which resty-url refuses and soap.lua then keeps
//     as it came.
//   - Every rule whose pattern matches the action adds its delta of its
//     metric (a rule has no method and no "last"). A pattern is read as a
//     mapping rule's path: a prefix match, '$' ending it, a {placeholder}
//     standing for one segment; its query part is ignored and duplicate
//     slashes are one, as mapping_rule.lua's regexpify drops and merges them.
//   - The usage goes to Context.AddedUsage: the apicast element adds it to
//     what the service's mapping rules matched, "the usage reported to
//     backend is the sum of: 1) Matching the request against the service
//     mapping rules. 2) Matching the SOAP action URI against the mapping
//     rules of the policy." (t/apicast-policy-soap.t), and admits it against
//     the plan's limits. APIcast answers "no match" when that sum is empty,
//     so a request with SOAP usage is served even when no rule of the service
//     matched it. A rule's metric the service does not have makes the
//     request's authorization fail (403, the service's "authentication
//     failed"), as apisonator's metric_invalid does to APIcast's authrep.
//   - With no action, nothing is added: "the usage reported to backend is
//     only the associated with the service mapping rules".
//
// Differences from APIcast:
//   - A pattern is matched as Portolan matches mapping rules, not as a
//     regular expression: characters other than '.' are not regex operators
//     but literals, '$' may only end the path, and a placeholder matches any
//     text but '/' (APIcast's take letters, digits and -.~%!$&'()*+,;=@:).
//     A pattern 3scale would refuse for a mapping rule (whitespace, '#'
//     before the query, unbalanced braces) is refused. A pattern that does
//     not start with '/' matches actions that do not either, as APIcast's
//     regex anchored at the start does.
//   - A delta of 0 or less adds nothing, as APIcast's usage merge drops a
//     metric whose total is not positive when the policy comes before apicast
//     (its tests' order); after it, APIcast would subtract it from the mapping
//     rules' usage.
//   - Only a parameter named action is read from the Content-Type (APIcast's
//     regex search also finds one that ends another parameter's name,
//     "xaction="), and only the first SOAPAction header.
//   - With the policy after apicast in the chain, a request that no mapping
//     rule of the service matches has already been refused as "no match"
//     when the policy runs: APIcast decides it at authorization, wherever the
//     policy sits.
type soap struct {
	rules   []soapRule
	rooted  bool // some pattern does not start with '/': match "/"+action for it
	matched prometheus.Counter
}

// soapRule is one of the policy's mapping rules.
type soapRule struct {
	pattern *composition.Pattern
	// rooted: the pattern as written did not start with '/'; it was parsed
	// with one, so it faces "/"+action.
	rooted bool
	metric string
	delta  int64
}

type soapConfig struct {
	MappingRules []struct {
		Pattern          *string `json:"pattern"`
		MetricSystemName *string `json:"metric_system_name"`
		Delta            *int64  `json:"delta"`
	} `json:"mapping_rules"`
}

func newSOAP(conf json.RawMessage, env *Env) (Policy, error) {
	var cfg soapConfig
	if err := Decode(conf, &cfg); err != nil {
		return nil, err
	}
	p := &soap{matched: routeCounter(env, "soap", "matched")}
	for i, r := range cfg.MappingRules {
		at := "mapping_rules[" + strconv.Itoa(i) + "]"
		switch {
		case r.Pattern == nil:
			return nil, Invalid(at+".pattern", "is required")
		case r.MetricSystemName == nil:
			return nil, Invalid(at+".metric_system_name", "is required")
		case r.Delta == nil:
			return nil, Invalid(at+".delta", "is required")
		}
		rule, err := compileSOAPRule(*r.Pattern)
		if err != nil {
			return nil, Invalid(at+".pattern", "%v", err)
		}
		rule.metric, rule.delta = *r.MetricSystemName, *r.Delta
		p.rooted = p.rooted || rule.rooted
		p.rules = append(p.rules, rule)
	}
	return p, nil
}

// compileSOAPRule parses a rule's pattern as mapping_rule.lua reads it: the
// query part dropped, runs of '/' made one.
func compileSOAPRule(pattern string) (soapRule, error) {
	var r soapRule
	path, _, _ := strings.Cut(pattern, "?")
	for strings.Contains(path, "//") {
		path = strings.ReplaceAll(path, "//", "/")
	}
	if !strings.HasPrefix(path, "/") {
		path, r.rooted = "/"+path, true
	}
	var err error
	r.pattern, err = composition.ParsePattern(path)
	return r, err
}

func (p *soap) Name() string { return "soap" }

// Rewrite adds the usage of the rules the request's SOAP action matches.
func (p *soap) Rewrite(c *Context) {
	action, ok := soapAction(c.R.Header.Get("Content-Type"), c.R.Header.Values("SOAPAction"))
	if !ok || len(p.rules) == 0 {
		return
	}
	var rooted string
	if p.rooted {
		rooted = "/" + action
	}
	n := 0
	for i := range p.rules {
		r := &p.rules[i]
		subject := action
		if r.rooted {
			subject = rooted
		}
		if !r.pattern.Match(subject, nil) {
			continue
		}
		n++
		if r.delta > 0 {
			c.AddedUsage = append(c.AddedUsage, MetricUsage{Metric: r.metric, Delta: r.delta})
		}
	}
	if n > 0 {
		p.matched.Inc()
	}
}

// soapAction is what soap.lua matches: the action of the Content-Type or
// else of the SOAPAction header, a URL's path in place of the URL. False:
// the request has none, or one that counts nothing.
func soapAction(contentType string, soapActions []string) (string, bool) {
	action, ok := soapContentTypeAction(contentType)
	if !ok {
		if len(soapActions) == 0 {
			return "", false
		}
		action = soapActions[0]
	}
	return soapActionPath(action)
}

// soapContentTypeAction reads the action parameter of a SOAP 1.2
// Content-Type ("application/soap+xml; action=..."): the first one with a
// value, quoted or not.
func soapContentTypeAction(ct string) (string, bool) {
	mediaType, params, ok := strings.Cut(ct, ";")
	if !ok || !strings.EqualFold(strings.Trim(mediaType, soapSpaces), "application/soap+xml") {
		return "", false
	}
	for params != "" {
		var param string
		param, params = soapParam(params)
		name, value, ok := strings.Cut(strings.TrimLeft(param, soapSpaces), "=")
		if !ok || !strings.EqualFold(name, "action") {
			continue
		}
		if v, ok := soapParamValue(value); ok {
			return v, true
		}
	}
	return "", false
}

// soapParam splits off the first parameter of params, up to a ';' outside
// quotes (a quoted value may hold one), and returns the rest after it.
func soapParam(params string) (param, rest string) {
	quoted := false
	for i := 0; i < len(params); i++ {
		switch params[i] {
		case '"':
			quoted = !quoted
		case ';':
			if !quoted {
				return params[:i], params[i+1:]
			}
		}
	}
	return params, ""
}

// soapParamValue is a parameter's value: the text between quotes, or a
// token with no space, ';' or quote; either one followed by spaces at most.
func soapParamValue(v string) (string, bool) {
	v = strings.TrimRight(v, soapSpaces)
	if len(v) >= 3 && v[0] == '"' && v[len(v)-1] == '"' {
		return v[1 : len(v)-1], true
	}
	if v == "" || strings.ContainsAny(v, soapSpaces+`";`) {
		return "", false
	}
	return v, true
}

// soapActionPath is what soap.lua matches for action: the action itself
// when it has no scheme, the path of a URL (lua-resty-url's parse), and
// nothing (false) for a URL without a path or a URI that has none.
func soapActionPath(action string) (string, bool) {
	colon := strings.IndexByte(action, ':')
	if colon < 0 {
		return action, true // no scheme: resty-url refuses it, soap.lua keeps it
	}
	if path, ok := soapAuthorityPath(action); ok {
		return path, path != "" && path != "/"
	}
	if scheme := action[:colon]; scheme == "http" || scheme == "https" {
		return action, true // an invalid endpoint to resty-url: kept as it came
	}
	return "", false // an opaque URI (urn:...): no path
}

// soapAuthorityPath finds, as lua-resty-url's pattern does, the first "//"
// followed by an authority ([userinfo@]host[:port], the userinfo the
// longest that leaves a host) and returns what follows it: "" or a path
// from its '/' to the end. It reads s once or twice, whatever its '@'s.
func soapAuthorityPath(s string) (string, bool) {
	// The longest userinfo ends at the last '@' that a host follows; clean
	// says that s[i+1:] has no space before its first '/'.
	userinfo, clean := -1, true
	for i := len(s) - 1; i >= 0 && userinfo < 0; i-- {
		switch {
		case s[i] == '@' && clean && i+1 < len(s) && s[i+1] != '/':
			userinfo = i
		case s[i] == '/':
			clean = true
		case strings.IndexByte(soapSpaces, s[i]) >= 0:
			clean = false
		}
	}
	for start := strings.Index(s, "//"); start >= 0; {
		host := start + 2
		if userinfo > host { // some userinfo between "//" and the '@'
			path, _ := soapHostPath(s[userinfo+1:])
			return path, true
		}
		if path, ok := soapHostPath(s[host:]); ok {
			return path, true
		}
		next := strings.Index(s[start+1:], "//")
		if next < 0 {
			break
		}
		start += 1 + next
	}
	return "", false
}

// soapHostPath reads a host (and port) up to the path or the end and
// returns the path: the host is some text without '/' or spaces.
func soapHostPath(s string) (string, bool) {
	host, path := s, ""
	if i := strings.IndexByte(s, '/'); i >= 0 {
		host, path = s[:i], s[i:]
	}
	if host == "" {
		return "", false
	}
	if strings.ContainsAny(host, soapSpaces) {
		return "", false
	}
	return path, true
}

// soapSpaces are PCRE's \s without Unicode, which resty's patterns use.
const soapSpaces = " \t\n\v\f\r"
