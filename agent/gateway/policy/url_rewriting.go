package policy

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// urlRewriting is APIcast's url_rewriting policy. Its manifest: "This
// policy allows to modify the path of a request. The operations supported
// are sub and gsub based on ngx.re.sub and ngx.re.gsub provided by
// OpenResty. [...] When combined with the APIcast policy, if the URL
// rewriting policy is placed before it in the chain, the APIcast mapping
// rules will apply to the modified path." Commands apply in order to the
// path, each only for its methods (all when none); "break: when set to
// true, if the command rewrote the URL, it will be the last one applied".
// Then query_args_commands change the query: add ("Add a value to an
// existing argument"), set ("Create the arg when not set, replace its value
// when set"), push ("Create the arg when not set, add the value when set")
// and delete, with values plain or Liquid.
type urlRewriting struct {
	commands  []rewriteCommand
	queryArgs []queryArgCommand
	env       *Env
	rewritten prometheus.Counter
}

type rewriteCommand struct {
	global  bool // gsub
	re      *regexp.Regexp
	from    *regexp.Regexp // re searched from a position past 0 (newRewriteCommand)
	replace ngxReplace
	brk     bool
	methods []string
}

type queryArgCommand struct {
	op      string
	arg     string
	value   *Template
	methods []string
}

type urlRewritingConfig struct {
	Commands []struct {
		Op      *string  `json:"op"`
		Regex   *string  `json:"regex"`
		Replace *string  `json:"replace"`
		Options string   `json:"options"`
		Break   bool     `json:"break"`
		Methods []string `json:"methods"`
	} `json:"commands"`
	QueryArgsCommands []struct {
		Op        *string  `json:"op"`
		Arg       *string  `json:"arg"`
		Value     *string  `json:"value"`
		ValueType string   `json:"value_type"`
		Methods   []string `json:"methods"`
	} `json:"query_args_commands"`
}

var schemaMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}

func checkMethods(field string, methods []string) error {
	for i, m := range methods {
		if _, err := OneOf(fmt.Sprintf("%s[%d]", field, i), m, "", schemaMethods...); err != nil {
			return err
		}
	}
	return nil
}

func newURLRewriting(conf json.RawMessage, env *Env) (Policy, error) {
	var cfg urlRewritingConfig
	if err := Decode(conf, &cfg); err != nil {
		return nil, err
	}
	p := &urlRewriting{env: env, rewritten: routeCounter(env, "url_rewriting", "rewritten")}
	for i, c := range cfg.Commands {
		field := fmt.Sprintf("commands[%d]", i)
		for _, req := range []struct {
			name string
			v    *string
		}{{"op", c.Op}, {"regex", c.Regex}, {"replace", c.Replace}} {
			if req.v == nil {
				return nil, Invalid(field+"."+req.name, "is required")
			}
		}
		op, err := OneOf(field+".op", *c.Op, "", "sub", "gsub")
		if err != nil {
			return nil, err
		}
		if err := checkMethods(field+".methods", c.Methods); err != nil {
			return nil, err
		}
		if err := checkOptions(field+".options", c.Options); err != nil {
			return nil, err
		}
		cmd, err := newRewriteCommand(field+".regex", *c.Regex, c.Options)
		if err != nil {
			return nil, err
		}
		if cmd.replace, err = parseNgxReplace(field+".replace", *c.Replace, cmd.re.NumSubexp()); err != nil {
			return nil, err
		}
		cmd.global, cmd.brk, cmd.methods = op == "gsub", c.Break, c.Methods
		p.commands = append(p.commands, *cmd)
	}
	for i, c := range cfg.QueryArgsCommands {
		field := fmt.Sprintf("query_args_commands[%d]", i)
		if c.Op == nil {
			return nil, Invalid(field+".op", "is required")
		}
		if c.Arg == nil {
			return nil, Invalid(field+".arg", "is required")
		}
		op, err := OneOf(field+".op", *c.Op, "", "add", "set", "push", "delete")
		if err != nil {
			return nil, err
		}
		vt, err := OneOf(field+".value_type", c.ValueType, "plain", "plain", "liquid")
		if err != nil {
			return nil, err
		}
		if err := checkMethods(field+".methods", c.Methods); err != nil {
			return nil, err
		}
		q := queryArgCommand{op: op, arg: *c.Arg, methods: c.Methods}
		if op != "delete" {
			v := ""
			if c.Value != nil {
				v = *c.Value
			}
			if q.value, err = CompileTemplate(field+".value", v, vt == "liquid"); err != nil {
				return nil, err
			}
		}
		p.queryArgs = append(p.queryArgs, q)
	}
	return p, nil
}

func (p *urlRewriting) Name() string { return "url_rewriting" }

func appliesTo(methods []string, method string) bool {
	return len(methods) == 0 || slices.Contains(methods, method)
}

// Rewrite rewrites the path, then the query.
func (p *urlRewriting) Rewrite(c *Context) {
	u := c.R.URL
	for i := range p.commands {
		cmd := &p.commands[i]
		if !appliesTo(cmd.methods, c.R.Method) {
			continue
		}
		path, changed := cmd.apply(u.Path)
		if !changed {
			continue
		}
		if !strings.HasPrefix(path, "/") {
			path = "/" + path // a request target is absolute
		}
		u.Path, u.RawPath = path, ""
		p.rewritten.Inc()
		if cmd.brk {
			break
		}
	}
	if len(p.queryArgs) == 0 {
		return
	}
	var q uriQuery
	for i := range p.queryArgs {
		cmd := &p.queryArgs[i]
		if !appliesTo(cmd.methods, c.R.Method) {
			continue
		}
		if q == nil {
			q = uriArgs(u.RawQuery)
		}
		switch cmd.op {
		case "delete":
			delete(q, cmd.arg)
		case "set":
			q[cmd.arg] = []uriArg{{v: cmd.value.Render(c, p.env)}}
		case "push":
			q[cmd.arg] = append(q[cmd.arg], uriArg{v: cmd.value.Render(c, p.env)})
		case "add":
			if _, ok := q[cmd.arg]; ok {
				q[cmd.arg] = append(q[cmd.arg], uriArg{v: cmd.value.Render(c, p.env)})
			}
		}
	}
	if q != nil {
		u.RawQuery = q.encode()
	}
}

// uriQuery is a query as ngx.req.get_uri_args reads it and
// ngx.req.set_uri_args writes it back.
type uriQuery map[string][]uriArg

// uriArg is one value of a query argument. flag: the argument came without
// '=' ("?debug"), which get_uri_args reads as true and set_uri_args writes
// back bare, not as "debug=".
type uriArg struct {
	v    string
	flag bool
}

// encode writes q as url.Values.Encode does (keys sorted), each key and
// value escaped as ngx.req.set_uri_args does (escapeURI: a space as %20),
// a flag as its bare name.
func (q uriQuery) encode() string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		ek := escapeURI(k)
		for _, a := range q[k] {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(ek)
			if !a.flag {
				b.WriteByte('=')
				b.WriteString(escapeURI(a.v))
			}
		}
	}
	return b.String()
}

// uriArgs reads a query as ngx.req.get_uri_args, which APIcast's
// query_args_commands change, does: arguments are separated by '&' alone (a
// ';' belongs to the value), one whose escapes do not decode is kept as
// sent, where url.ParseQuery would drop both from the forwarded request, and
// one without '=' is a flag.
func uriArgs(raw string) uriQuery {
	q := uriQuery{}
	for raw != "" {
		var kv string
		kv, raw, _ = strings.Cut(raw, "&")
		if kv == "" {
			continue
		}
		k, v, hasValue := strings.Cut(kv, "=")
		k = unescapeArg(k)
		q[k] = append(q[k], uriArg{v: unescapeArg(v), flag: !hasValue})
	}
	return q
}

func unescapeArg(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// apply substitutes the first match (sub) or every match (gsub) in s; it
// reports whether anything matched, as ngx.re.sub's count of changes does.
func (cmd *rewriteCommand) apply(s string) (string, bool) {
	matches := cmd.matches(s)
	if len(matches) == 0 {
		return s, false
	}
	var b strings.Builder
	last := 0
	for _, m := range matches {
		b.WriteString(s[last:m[0]])
		cmd.replace.expand(&b, s, m)
		last = m[1]
	}
	b.WriteString(s[last:])
	return b.String(), true
}

// ngxReplace is a replacement of ngx.re.sub: text with $0..$N or ${N}
// standing for the captures, $$ for a dollar.
type ngxReplace []replacePart

type replacePart struct {
	text  string
	group int // -1: text
}

func parseNgxReplace(field, s string, groups int) (ngxReplace, error) {
	var r ngxReplace
	var text strings.Builder
	flush := func() {
		if text.Len() > 0 {
			r = append(r, replacePart{text: text.String(), group: -1})
			text.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '$' {
			text.WriteByte(s[i])
			continue
		}
		rest := s[i+1:]
		var digits string
		switch {
		case strings.HasPrefix(rest, "$"):
			text.WriteByte('$')
			i++
			continue
		case strings.HasPrefix(rest, "{"):
			end := strings.IndexByte(rest, '}')
			if end < 0 {
				return nil, Invalid(field, "unclosed ${ in %q", s)
			}
			digits = rest[1:end]
			i += end + 1
		default:
			j := 0
			for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
				j++
			}
			digits = rest[:j]
			i += j
		}
		g := 0
		if digits == "" {
			return nil, Invalid(field, "a $ must be followed by a capture number ($1, ${1}) or be written $$, in %q", s)
		}
		for _, d := range digits {
			if d < '0' || d > '9' {
				return nil, Invalid(field, "named captures (${%s}) are not supported, only numbered ones, in %q", digits, s)
			}
			g = g*10 + int(d-'0')
			if g > groups {
				break
			}
		}
		if g > groups {
			return nil, Invalid(field, "$%s refers to a capture the regex does not have (it has %d)", digits, groups)
		}
		flush()
		r = append(r, replacePart{group: g})
	}
	flush()
	return r, nil
}

func (r ngxReplace) expand(b *strings.Builder, s string, m []int) {
	for _, p := range r {
		if p.group < 0 {
			b.WriteString(p.text)
		} else if m[2*p.group] >= 0 {
			b.WriteString(s[m[2*p.group]:m[2*p.group+1]])
		}
	}
}

// compileRegex compiles a regular expression of a policy's configuration
// with ngx.re's options. APIcast runs PCRE through ngx.re; the gateway runs
// Go's RE2, which refuses the PCRE features that need backtracking:
// backreferences (\1), lookahead and lookbehind ((?=, (?!, (?<=, (?<!),
// atomic groups ((?>), possessive quantifiers (a*+), recursion ((?R)),
// conditionals and \C. A regex using them is a configuration error naming
// the field, never a regex that matches differently. Options: i (caseless),
// m (multi-line), s (dot matches newline), a (anchored at the start), and
// the ones that change nothing here: o, j (compile once, JIT), u, U (UTF-8;
// Go always reads UTF-8) and d (DFA). x, D and J are refused.
func compileRegex(field, expr, options string) (*regexp.Regexp, error) {
	if err := checkOptions(field, options); err != nil {
		return nil, err
	}
	flags, anchored := regexFlags(options)
	src := expr
	if anchored {
		src = `\A(?:` + src + `)`
	}
	re, err := regexp.Compile(flags + src)
	if err != nil {
		return nil, Invalid(field, "%q is not a regular expression the gateway can run (Go's RE2 refuses PCRE's backreferences, lookaround, atomic groups and possessive quantifiers): %v", expr, err)
	}
	return re, nil
}

// regexFlags returns the Go flags group of ngx.re options i, m and s ("" for
// none), and whether a anchors the match.
func regexFlags(options string) (flags string, anchored bool) {
	for _, o := range options {
		switch o {
		case 'i', 'm', 's':
			if !strings.ContainsRune(flags, o) {
				flags += string(o)
			}
		case 'a':
			anchored = true
		}
	}
	if flags != "" {
		flags = "(?" + flags + ")"
	}
	return flags, anchored
}

// checkOptions refuses ngx.re options the gateway does not have.
func checkOptions(field, options string) error {
	for _, o := range options {
		switch o {
		case 'i', 'm', 's', 'a', 'o', 'j', 'u', 'U', 'd':
		default:
			return Invalid(field, "the regex option %q is not supported by the Portolan gateway (supported: i, m, s, a; o, j, u, U, d change nothing)", string(o))
		}
	}
	return nil
}
