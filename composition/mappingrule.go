package composition

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ruleMaxPatternLen bounds pattern size so a rule cannot make matching expensive.
const ruleMaxPatternLen = 2048

// rulePortaPatternLen is porta's bound on a rule's pattern, in characters
// (ProxyRule: validates :pattern, length: { maximum: 255 }). Rules are
// validated against it; ParsePattern keeps the looser ruleMaxPatternLen so
// that a rule stored before still compiles.
const rulePortaPatternLen = 255

// Pattern is a parsed mapping-rule pattern. It is immutable and safe for concurrent use.
type Pattern struct {
	raw string

	// prefix is the literal path text before the first placeholder (the whole
	// path when there is none); checking it first rejects most misses cheaply.
	prefix string
	// base is the part of prefix up to and including its last '/'; segs covers
	// the path after it. segs is empty when the path has no placeholder.
	base  string
	segs  []patternGlob
	exact bool // the path ended with '$'

	query []ruleQueryParam
}

// patternGlob is lits[0] {v} lits[1] ... {v} lits[n]: literal text with n
// placeholders between, each matching one or more bytes.
type patternGlob struct {
	lits []string
}

type ruleQueryParam struct {
	name  string
	value patternGlob
}

// ParsePattern parses a 3scale mapping-rule pattern.
func ParsePattern(s string) (*Pattern, error) {
	if s == "" {
		return nil, fmt.Errorf("invalid mapping rule pattern: empty")
	}
	if len(s) > ruleMaxPatternLen {
		return nil, ruleErr(s, "longer than %d bytes (%d)", ruleMaxPatternLen, len(s))
	}
	if s[0] != '/' {
		return nil, ruleErr(s, "must start with '/'")
	}
	if !utf8.ValidString(s) {
		return nil, ruleErr(s, "invalid UTF-8")
	}
	for i, r := range s {
		switch {
		case unicode.IsSpace(r):
			return nil, ruleErr(s, "whitespace at offset %d", i)
		case unicode.IsControl(r):
			return nil, ruleErr(s, "control character at offset %d", i)
		case r == '#':
			return nil, ruleErr(s, "'#' at offset %d (fragments are never sent to the gateway)", i)
		}
	}

	path, rawQuery, hasQuery := strings.Cut(s, "?")
	p := &Pattern{raw: s}
	if strings.HasSuffix(path, "$") {
		path = path[:len(path)-1]
		p.exact = true
	}
	if i := strings.IndexByte(path, '$'); i >= 0 {
		return nil, ruleErr(s, "'$' at offset %d; it is only allowed at the end of the path", i)
	}
	if i := strings.IndexByte(rawQuery, '$'); i >= 0 {
		return nil, ruleErr(s, "'$' in the query part at offset %d; it is only allowed at the end of the path", len(s)-len(rawQuery)+i)
	}

	if err := p.parsePath(s, path); err != nil {
		return nil, err
	}
	if hasQuery {
		if err := p.parseQuery(s, rawQuery); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// RepeatsName reports whether the pattern names a variable twice, or a
// name both as a path variable and as a query key, which porta refuses
// ("Can't have repeated variable names", ProxyRule#non_repeated_parameters:
// the path's variables and the query's keys, as written, are all distinct).
func RepeatsName(s string) bool {
	path, query, _ := strings.Cut(s, "?")
	var names []string
	for rest := path; ; {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			break
		}
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			break
		}
		names = append(names, rest[open+1:open+end])
		rest = rest[open+end+1:]
	}
	if query != "" {
		for pair := range strings.SplitSeq(query, "&") {
			name, _, _ := strings.Cut(pair, "=")
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return len(slices.Compact(names)) != len(names)
}

func (p *Pattern) parsePath(s, path string) error {
	open := strings.IndexByte(path, '{')
	if open < 0 {
		if i := strings.IndexByte(path, '}'); i >= 0 {
			return ruleErr(s, "unbalanced '}' at offset %d", i)
		}
		p.prefix, p.base = path, path
		return nil
	}
	p.prefix = path[:open]
	p.base = path[:strings.LastIndexByte(p.prefix, '/')+1]
	rest := path[len(p.base):]
	for seg := range strings.SplitSeq(rest, "/") {
		g, err := ruleParseGlob(s, seg, "path")
		if err != nil {
			return err
		}
		p.segs = append(p.segs, g)
	}
	return nil
}

func (p *Pattern) parseQuery(s, rawQuery string) error {
	if rawQuery == "" {
		return ruleErr(s, "empty query part after '?'")
	}
	for pair := range strings.SplitSeq(rawQuery, "&") {
		rawName, rawValue, ok := strings.Cut(pair, "=")
		if rawName == "" {
			return ruleErr(s, "query parameter with an empty name")
		}
		if !ok {
			return ruleErr(s, "query parameter %q has no '=value'", rawName)
		}
		if strings.ContainsAny(rawName, "{}") {
			return ruleErr(s, "placeholder in query parameter name %q", rawName)
		}
		// Request queries arrive decoded (url.Values), so compare decoded text.
		name, err := url.QueryUnescape(rawName)
		if err != nil {
			return ruleErr(s, "query parameter name %q: %v", rawName, err)
		}
		g, err := ruleParseGlob(s, rawValue, "query")
		if err != nil {
			return err
		}
		for i, l := range g.lits {
			if g.lits[i], err = url.QueryUnescape(l); err != nil {
				return ruleErr(s, "query parameter %q value %q: %v", rawName, rawValue, err)
			}
		}
		// porta's querystring_parameters is a Hash of the pairs: a name
		// given twice keeps its last value.
		q := ruleQueryParam{name: name, value: g}
		if i := slices.IndexFunc(p.query, func(o ruleQueryParam) bool { return o.name == name }); i >= 0 {
			p.query[i] = q
		} else {
			p.query = append(p.query, q)
		}
	}
	return nil
}

// ruleParseGlob splits text (no '/') into literals around {var} placeholders.
func ruleParseGlob(s, text, where string) (patternGlob, error) {
	var g patternGlob
	for {
		open := strings.IndexByte(text, '{')
		if i := strings.IndexByte(text, '}'); i >= 0 && (open < 0 || i < open) {
			return g, ruleErr(s, "unbalanced '}' in %s segment %q", where, text)
		}
		if open < 0 {
			g.lits = append(g.lits, text)
			return g, nil
		}
		end := strings.IndexByte(text[open+1:], '}')
		if end < 0 {
			return g, ruleErr(s, "unbalanced '{' in %s segment %q", where, text)
		}
		name := text[open+1 : open+1+end]
		if strings.IndexByte(name, '{') >= 0 {
			return g, ruleErr(s, "nested '{' in %s segment %q", where, text)
		}
		if name == "" {
			return g, ruleErr(s, "empty placeholder '{}' in %s segment %q", where, text)
		}
		g.lits = append(g.lits, text[:open])
		text = text[open+1+end+1:]
	}
}

func ruleErr(s, format string, args ...any) error {
	if len(s) > 80 {
		s = s[:64] + "..."
	}
	return fmt.Errorf("invalid mapping rule pattern %q: %s", s, fmt.Sprintf(format, args...))
}

// String returns the pattern as written.
func (p *Pattern) String() string {
	if p == nil {
		return ""
	}
	return p.raw
}

// Match reports whether the request path (already URL-decoded path, no query) and its query match.
//
// Like APIcast, a pattern without '$' is a prefix match: "/foo" also matches
// "/foo/bar" and "/foobar". A query parameter listed more than once in the
// request counts by its last value, as in APIcast.
func (p *Pattern) Match(path string, query url.Values) bool {
	if p == nil || !strings.HasPrefix(path, p.prefix) {
		return false
	}
	if len(p.segs) == 0 {
		if p.exact && len(path) != len(p.prefix) {
			return false
		}
	} else if !p.matchSegs(path[len(p.base):]) {
		return false
	}
	for i := range p.query {
		if !p.query[i].match(query) {
			return false
		}
	}
	return true
}

// matchSegs matches rest against segs: placeholders never span a '/', so the
// i-th pattern segment always faces the i-th path segment.
func (p *Pattern) matchSegs(rest string) bool {
	last := len(p.segs) - 1
	for i := range p.segs {
		seg := rest
		slash := strings.IndexByte(rest, '/')
		if slash >= 0 {
			seg, rest = rest[:slash], rest[slash+1:]
		}
		switch {
		case i < last:
			if slash < 0 || !p.segs[i].match(seg, true) {
				return false
			}
		case p.exact:
			return slash < 0 && p.segs[i].match(seg, true)
		default:
			return p.segs[i].match(seg, false)
		}
	}
	return false // unreachable: segs is never empty here
}

// match reports whether g matches s, all of it when full, else a prefix of it.
// Each placeholder takes one or more bytes of APIcast's class (placeholderByte).
// Taking each literal at its leftmost place after a run of those bytes is
// optimal: were a later place also possible, the text up to it, the earlier
// occurrence of the literal included, would be of the class, and so would
// the literal (it overlaps itself with a period inside the class), so the
// next placeholder may take what lies between them.
func (g *patternGlob) match(s string, full bool) bool {
	lits := g.lits
	if !strings.HasPrefix(s, lits[0]) {
		return false
	}
	if len(lits) == 1 {
		return !full || len(s) == len(lits[0])
	}
	pos := len(lits[0])
	n := len(lits) - 1
	if !full {
		n++ // the last literal is followed by anything, so search it like the others
	}
	for _, l := range lits[1:n] {
		run := placeholderRun(s, pos)
		if run == 0 { // the placeholder before l needs a byte
			return false
		}
		i := strings.Index(s[pos+1:], l)
		if i < 0 || 1+i > run {
			return false
		}
		pos += 1 + i + len(l)
	}
	if !full {
		return true
	}
	tail := lits[n]
	end := len(s) - len(tail)
	return end > pos && strings.HasSuffix(s, tail) && placeholderRun(s[:end], pos) == end-pos
}

// placeholderRun is the number of bytes of s from pos that a placeholder may take.
func placeholderRun(s string, pos int) int {
	n := 0
	for pos+n < len(s) && placeholderByte(s[pos+n]) {
		n++
	}
	return n
}

// placeholderByte reports whether c is of the class APIcast's regexpify
// (3scale/APIcast gateway/src/apicast/mapping_rule.lua) puts in place of a
// {name}: [\w\-.~%!$&'()*+,;=@:], \w being ASCII (no 'u' flag). It is
// matched against the decoded path, so a placeholder never takes a '/', a
// space, a quote, a bracket, a decoded '?' or a byte of a non-ASCII letter.
func placeholderByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("_-.~%!$&'()*+,;=@:", c) >= 0
}

// match is APIcast's matches_querystring_params (mapping_rule.lua): a
// value holding a placeholder asks only that the argument be given, empty
// ("?q=", "?q") too; a literal value must equal the argument's last value,
// as APIcast compares "the last one" of an argument given many times.
func (q *ruleQueryParam) match(query url.Values) bool {
	vs, ok := query[q.name]
	if !ok || len(vs) == 0 {
		return false
	}
	if len(q.value.lits) > 1 {
		return true
	}
	return vs[len(vs)-1] == q.value.lits[0]
}

// ruleMethods are porta's ProxyRule::ALLOWED_HTTP_METHODS (no TRACE or
// CONNECT: 3scale refuses a rule naming them) and APIcast's ANY.
var ruleMethods = [...]string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"}

// ValidHTTPMethod reports whether m (any case) is a method a mapping rule may name; ANY included.
func ValidHTTPMethod(m string) bool {
	for _, v := range ruleMethods {
		if strings.EqualFold(m, v) {
			return true
		}
	}
	return false
}

// MethodMatches reports whether a rule's method (e.g. "GET" or "ANY") matches the request method.
// A rule names its method in any case (3scale stores it upper-cased), but a request's method is
// case-sensitive (RFC 9110 §9.1): a GET rule matches "GET", never "get" or "Get"; only ANY matches
// any method token. A rule naming an invalid method matches nothing.
func MethodMatches(ruleMethod, requestMethod string) bool {
	if strings.EqualFold(ruleMethod, "ANY") {
		return true
	}
	return isUpperASCII(requestMethod) && strings.EqualFold(ruleMethod, requestMethod) && ValidHTTPMethod(ruleMethod)
}

// isUpperASCII reports whether s has no lower-case ASCII letter: every
// method a rule may name is upper case.
func isUpperASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'a' <= s[i] && s[i] <= 'z' {
			return false
		}
	}
	return true
}
