package policy

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// urlCaptures is APIcast's "rewrite_url_captures" policy ("URL Rewriting
// with Captures"): "Captures arguments in a URL and rewrites the URL using
// these arguments. For example, we can specify a matching rule with
// arguments like '/{orderId}/{accountId}' and a template that specifies how
// to rewrite the URL using those arguments. Example:
// '/sales/v2/{orderId}?account={accountId}'; in this case, the request
// '/123/456' will be transformed into '/sales/v2/123?account=456'".
//
// As rewrite_url_captures.lua and its named_args_matcher.lua, in the
// rewrite phase: the transformations are tried in order and only the first
// that matches applies ("This function only applies the first rule that
// matches"), each only for its methods (all when none are listed). A
// match_rule is a regular expression whose {name} placeholders each become a
// capture of one or more of the characters APIcast's mapping rules take
// ([\w-.~%!$&'()*+,;=@:], no '/'); it is matched, unanchored, against the
// request's decoded path as earlier policies left it, and matches only when
// its captures are exactly its placeholders (a rule with groups of its own
// never matches, as APIcast's count check makes it). The template's {name}
// placeholders take what was captured; its part before '?' becomes the path
// and each of its query arguments is set on the request ("When a param in
// 'new_params' exist in the request, this function replaces its value. When
// it does not exist, it simply adds it"), the other arguments kept; without
// '?' the query is left as it is.
//
// Differences, each where APIcast's Lua departs from what it says it does
// or would forward what the gateway refuses:
//   - A captured value stays inside the path segment or the query value it
//     is placed in: the template is split into path and arguments before the
//     captures are put in, so a captured "1&role=admin" is one argument's
//     value (sent escaped), where APIcast splits after substituting and would
//     let the request's path set other arguments of the template.
//   - Every argument of the template is set; APIcast's split stops at two
//     (ngx.re.split's limit), gluing the others into the second's value,
//     though its comment promises "a=1&b=2&c=3" as three. An argument
//     without '=' is set empty.
//   - Captures are put in as they are: a '$' in one is not read as a
//     reference to another capture, as ngx.re.gsub's replacement reads it.
//   - A rewritten path with a dot segment ("/v1/{a}/x" given "/v1/../x"
//     captures "..") is refused with 400, as the gateway refuses such a path
//     when a client sends it: the upstream would resolve it to a resource the
//     mapping rules never allowed.
//   - match_rule and template are required (APIcast's policy fails on a
//     transformation without them), and a match_rule is read by Go's RE2,
//     which refuses PCRE's backreferences and lookaround.
type urlCaptures struct {
	transformations []captureTransformation
	rewritten       prometheus.Counter
	refused         prometheus.Counter
}

type captureTransformation struct {
	re       *regexp.Regexp
	never    bool // the rule has capture groups besides its placeholders
	path     captureTemplate
	hasQuery bool // the template has a '?': its arguments are set
	args     []captureArg
	methods  []string
}

type captureArg struct{ name, value captureTemplate }

// captureTemplate is text with placeholders, each the capture group (from
// 1) of the rule's named argument; group 0 is literal text.
type captureTemplate []capturePart

type capturePart struct {
	text  string
	group int
}

type urlCapturesConfig struct {
	Transformations []struct {
		MatchRule *string  `json:"match_rule"`
		Template  *string  `json:"template"`
		Methods   []string `json:"methods"`
	} `json:"transformations"`
}

// namedArg is how named_args_matcher.lua finds a rule's named arguments.
var namedArg = regexp.MustCompile(`\{(.+?)\}`)

// captureGroup is what one named argument matches: the characters of
// APIcast's mapping rules, '-' last so that RE2 reads it as itself.
const captureGroup = `([\w.~%!$&'()*+,;=@:-]+)`

func newRewriteURLCaptures(conf json.RawMessage, env *Env) (Policy, error) {
	var cfg urlCapturesConfig
	if err := Decode(conf, &cfg); err != nil {
		return nil, err
	}
	p := &urlCaptures{rewritten: routeCounter(env, "rewrite_url_captures", "rewritten"),
		refused: routeCounter(env, "rewrite_url_captures", "refused")}
	for i, tc := range cfg.Transformations {
		field := fmt.Sprintf("transformations[%d]", i)
		if tc.MatchRule == nil {
			return nil, Invalid(field+".match_rule", "is required")
		}
		if tc.Template == nil {
			return nil, Invalid(field+".template", "is required")
		}
		if err := checkMethods(field+".methods", tc.Methods); err != nil {
			return nil, err
		}
		t, err := compileCaptureTransformation(field, *tc.MatchRule, *tc.Template)
		if err != nil {
			return nil, err
		}
		t.methods = tc.Methods
		p.transformations = append(p.transformations, t)
	}
	return p, nil
}

func compileCaptureTransformation(field, rule, template string) (captureTransformation, error) {
	var t captureTransformation
	groups := map[string]int{} // "{name}" → its first capture group
	n := 0
	src := namedArg.ReplaceAllStringFunc(rule, func(arg string) string {
		n++
		if _, ok := groups[arg]; !ok {
			groups[arg] = n
		}
		return captureGroup
	})
	re, err := regexp.Compile(src)
	if err != nil {
		return t, Invalid(field+".match_rule", "%q is not a rule the gateway can run (its text outside {placeholders} is a regular expression, read by Go's RE2, which refuses PCRE's backreferences, lookaround, atomic groups and possessive quantifiers): %v", rule, err)
	}
	t.re, t.never = re, re.NumSubexp() != n
	for i := 0; i < len(template); i++ {
		if b := template[i]; b < ' ' || b == 0x7f {
			return t, Invalid(field+".template", "must not hold a control character (byte %#02x at %d)", b, i)
		}
	}
	parts := parseCaptureTemplate(template, groups)
	path, query, hasQuery := splitCaptureTemplate(parts, '?')
	t.path, t.hasQuery = path, hasQuery
	for len(query) > 0 {
		var arg captureTemplate
		arg, query, _ = splitCaptureTemplate(query, '&')
		if len(arg) == 0 {
			continue // "a=1&&b=2": nothing between the separators
		}
		name, value, _ := splitCaptureTemplate(arg, '=')
		t.args = append(t.args, captureArg{name: name, value: value})
	}
	return t, nil
}

// parseCaptureTemplate cuts template into text and the placeholders of the
// rule's named arguments; any other {text} is text.
func parseCaptureTemplate(template string, groups map[string]int) captureTemplate {
	var parts captureTemplate
	text := 0
	for i := 0; i < len(template); i++ {
		if template[i] != '{' {
			continue
		}
		end := strings.IndexByte(template[i:], '}')
		if end < 0 {
			break
		}
		g, ok := groups[template[i:i+end+1]]
		if !ok {
			continue
		}
		if text < i {
			parts = append(parts, capturePart{text: template[text:i]})
		}
		parts = append(parts, capturePart{group: g})
		i += end
		text = i + 1
	}
	if text < len(template) {
		parts = append(parts, capturePart{text: template[text:]})
	}
	return parts
}

// splitCaptureTemplate cuts t at the first sep found in its text, never in
// a placeholder (whose capture is put in later, as a value).
func splitCaptureTemplate(t captureTemplate, sep byte) (before, after captureTemplate, found bool) {
	for i, part := range t {
		if part.group != 0 {
			continue
		}
		j := strings.IndexByte(part.text, sep)
		if j < 0 {
			continue
		}
		before = append(append(captureTemplate{}, t[:i]...), capturePart{text: part.text[:j]})
		if rest := part.text[j+1:]; rest != "" {
			after = append(after, capturePart{text: rest})
		}
		return before, append(after, t[i+1:]...), true
	}
	return t, nil, false
}

// render writes t with the captures of m in s; false when a placeholder's
// group took part in no match (a rule making it optional).
func (t captureTemplate) render(b *strings.Builder, s string, m []int) bool {
	for _, part := range t {
		if part.group == 0 {
			b.WriteString(part.text)
			continue
		}
		if m[2*part.group] < 0 {
			return false
		}
		b.WriteString(s[m[2*part.group]:m[2*part.group+1]])
	}
	return true
}

func (p *urlCaptures) Name() string { return "rewrite_url_captures" }

// Rewrite applies the first transformation that matches the request.
func (p *urlCaptures) Rewrite(c *Context) {
	u := c.R.URL
next:
	for i := range p.transformations {
		t := &p.transformations[i]
		if t.never || !appliesTo(t.methods, c.R.Method) {
			continue
		}
		m := t.re.FindStringSubmatchIndex(u.Path)
		if m == nil {
			continue
		}
		var b strings.Builder
		if !t.path.render(&b, u.Path, m) {
			continue
		}
		path := b.String()
		if !strings.HasPrefix(path, "/") {
			path = "/" + path // a request target is absolute
		}
		var set [][2]string
		for _, a := range t.args {
			b.Reset()
			if !a.name.render(&b, u.Path, m) {
				continue next
			}
			name := b.String()
			b.Reset()
			if !a.value.render(&b, u.Path, m) {
				continue next
			}
			set = append(set, [2]string{name, b.String()})
		}
		if !PathOK(path) {
			p.refused.Inc()
			c.Respond(http.StatusBadRequest, "text/plain; charset=us-ascii", PathRefused)
			return
		}
		p.rewritten.Inc()
		u.Path, u.RawPath = path, ""
		if len(set) > 0 {
			q := uriArgs(u.RawQuery)
			for _, kv := range set {
				q[kv[0]] = []uriArg{{v: kv[1]}}
			}
			u.RawQuery = q.encode()
		}
		return
	}
}
