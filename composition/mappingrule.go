package composition

import (
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ruleMaxPatternLen bounds pattern size so a rule cannot make matching expensive.
const ruleMaxPatternLen = 2048

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
		p.query = append(p.query, ruleQueryParam{name: name, value: g})
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
// request matches if any of its values does.
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
// Taking each literal at its leftmost possible place is optimal because the
// placeholders between them absorb any text.
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
		if pos >= len(s) { // the placeholder before l needs a byte
			return false
		}
		i := strings.Index(s[pos+1:], l)
		if i < 0 {
			return false
		}
		pos += 1 + i + len(l)
	}
	if !full {
		return true
	}
	tail := lits[n]
	return len(s)-len(tail) > pos && strings.HasSuffix(s, tail)
}

func (q *ruleQueryParam) match(query url.Values) bool {
	for _, v := range query[q.name] {
		if q.value.match(v, true) {
			return true
		}
	}
	return false
}

var ruleMethods = [...]string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "CONNECT", "ANY"}

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
