package swagger

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxRuleLen bounds the length of one rule.
const maxRuleLen = 1024

type ruleKind uint8

const (
	ruleTag ruleKind = iota + 1
	ruleOp
	rulePath
)

// Rule is one --include or --omit rule:
//
//	tag:NAME          operations tagged NAME (quote a name that has leading or trailing spaces: tag:"NAME")
//	op:OPERATION_ID   the operation whose operationId is OPERATION_ID
//	METHOD PATH_GLOB  operations of METHOD ("*" = any) whose path template matches PATH_GLOB
//
// In PATH_GLOB "*" matches within one path segment and "**" (a whole
// segment) any number of segments; a "{param}" matches any template
// parameter, whatever its name. Globs match the path as written in the spec,
// without the base path. The zero Rule matches nothing.
type Rule struct {
	kind   ruleKind
	name   string   // tag name or operationId
	method string   // "*" or upper case
	glob   string   // canonical path glob
	segs   []string // glob segments, parameters reduced to "{}"
}

// ParseRule parses one rule; see Rule for the syntax.
func ParseRule(s string) (Rule, error) {
	r, err := parseRule(s)
	if err != nil {
		return Rule{}, fmt.Errorf("rule %q: %w", s, err)
	}
	return r, nil
}

func parseRule(s string) (Rule, error) {
	if len(s) > maxRuleLen {
		return Rule{}, fmt.Errorf("longer than %d bytes", maxRuleLen)
	}
	if !utf8.ValidString(s) {
		return Rule{}, errors.New("not valid UTF-8")
	}
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return Rule{}, errors.New("empty; want tag:NAME, op:OPERATION_ID or METHOD PATH_GLOB")
	case strings.HasPrefix(s, "tag:"):
		name, err := parseName(s[len("tag:"):], "tag")
		return Rule{kind: ruleTag, name: name}, err
	case strings.HasPrefix(s, "op:"):
		name, err := parseName(s[len("op:"):], "operationId")
		return Rule{kind: ruleOp, name: name}, err
	}
	i := strings.IndexFunc(s, unicode.IsSpace)
	if i < 0 {
		return Rule{}, errors.New("want tag:NAME, op:OPERATION_ID or METHOD PATH_GLOB (e.g. GET /admin/api/services/**)")
	}
	method, err := parseMethod(s[:i])
	if err != nil {
		return Rule{}, err
	}
	glob, segs, err := parseGlob(strings.TrimSpace(s[i:]))
	if err != nil {
		return Rule{}, err
	}
	return Rule{kind: rulePath, method: method, glob: glob, segs: segs}, nil
}

func parseName(s, what string) (string, error) {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	if s == "" {
		return "", fmt.Errorf("no %s name", what)
	}
	for _, c := range s {
		if unicode.IsControl(c) {
			return "", fmt.Errorf("the %s name has a control character (%U)", what, c)
		}
	}
	return s, nil
}

func parseMethod(s string) (string, error) {
	if s == "*" {
		return s, nil
	}
	m := strings.ToUpper(s)
	for _, known := range methods {
		if strings.ToUpper(known) == m {
			return m, nil
		}
	}
	return "", fmt.Errorf("unknown method %q (want *, GET, PUT, POST, DELETE, OPTIONS, HEAD, PATCH or TRACE)", s)
}

func parseGlob(g string) (string, []string, error) {
	if g == "" || (g[0] != '/' && g != "**" && !strings.HasPrefix(g, "**/")) {
		return "", nil, fmt.Errorf("the path glob %q does not start with / (or **)", g)
	}
	for _, c := range g {
		switch {
		case unicode.IsSpace(c) || unicode.IsControl(c):
			return "", nil, fmt.Errorf("the path glob %q has a space or control character", g)
		case c == '?' || c == '#':
			return "", nil, fmt.Errorf("the path glob %q has a %q: globs match paths, not queries or fragments", g, c)
		}
	}
	if len(g) > 1 {
		g = strings.TrimSuffix(g, "/")
	}
	var segs []string
	if rel := strings.TrimPrefix(g, "/"); rel != "" {
		segs = strings.Split(rel, "/")
	}
	for i, seg := range segs {
		switch {
		case seg == "":
			return "", nil, fmt.Errorf("the path glob %q has an empty segment (//)", g)
		case seg != "**" && strings.Contains(seg, "**"):
			return "", nil, fmt.Errorf("the path glob %q has ** inside a segment (%q); ** must be a whole segment", g, seg)
		}
		norm, err := normalizeParams(seg)
		if err != nil {
			return "", nil, fmt.Errorf("the path glob %q: %w", g, err)
		}
		segs[i] = norm
	}
	return g, segs, nil
}

// normalizeParams reduces every "{name}" in a path segment to "{}", so that
// parameters match whatever their name.
func normalizeParams(seg string) (string, error) {
	if !strings.ContainsAny(seg, "{}") {
		return seg, nil
	}
	var b strings.Builder
	for {
		open := strings.IndexByte(seg, '{')
		if open < 0 {
			if strings.IndexByte(seg, '}') >= 0 {
				return "", errors.New("unbalanced }")
			}
			b.WriteString(seg)
			return b.String(), nil
		}
		closing := strings.IndexByte(seg[open:], '}')
		if closing < 0 || strings.IndexByte(seg[:open], '}') >= 0 {
			return "", errors.New("unbalanced { or }")
		}
		if closing == 1 || strings.IndexByte(seg[open+1:open+closing], '{') >= 0 {
			return "", errors.New("a {parameter} needs a name and cannot nest")
		}
		b.WriteString(seg[:open])
		b.WriteString("{}")
		seg = seg[open+closing+1:]
	}
}

// String returns the rule in the form ParseRule reads.
func (r Rule) String() string {
	switch r.kind {
	case ruleTag:
		return "tag:" + quoteName(r.name)
	case ruleOp:
		return "op:" + quoteName(r.name)
	case rulePath:
		return r.method + " " + r.glob
	}
	return ""
}

// quoteName quotes a name that would otherwise not read back the same.
func quoteName(n string) string {
	if n != strings.TrimSpace(n) || (len(n) >= 2 && n[0] == '"' && n[len(n)-1] == '"') {
		return `"` + n + `"`
	}
	return n
}

// Matches reports whether the rule selects op.
func (r Rule) Matches(op Operation) bool {
	switch r.kind {
	case ruleTag:
		for _, t := range op.Tags {
			if t == r.name {
				return true
			}
		}
		return false
	case ruleOp:
		return op.ID != "" && op.ID == r.name
	case rulePath:
		if r.method != "*" && r.method != op.Method {
			return false
		}
		return matchPath(r.segs, templateSegments(op.Path))
	}
	return false
}

// templateSegments splits a path template into segments with parameters
// reduced to "{}". A template that cannot be read has no segments matching
// anything but "**".
func templateSegments(p string) []string {
	p = strings.TrimPrefix(p, "/")
	if len(p) > 0 {
		p = strings.TrimSuffix(p, "/")
	}
	if p == "" {
		return nil
	}
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if n, err := normalizeParams(s); err == nil {
			segs[i] = n
		}
	}
	return segs
}

// matchPath matches glob segments against path segments: "**" matches any
// number of segments, other segments match one segment with matchSegment.
// It backtracks only to the last "**", which is enough for a match of
// sequences with one wildcard kind (as in wildcard string matching).
func matchPath(glob, path []string) bool {
	gi, pi := 0, 0
	star, mark := -1, 0
	for pi < len(path) {
		switch {
		case gi < len(glob) && glob[gi] == "**":
			star, mark = gi, pi
			gi++
		case gi < len(glob) && matchSegment(glob[gi], path[pi]):
			gi++
			pi++
		case star >= 0:
			mark++
			gi, pi = star+1, mark
		default:
			return false
		}
	}
	for gi < len(glob) && glob[gi] == "**" {
		gi++
	}
	return gi == len(glob)
}

// matchSegment matches one glob segment, where "*" matches any run of
// characters, against one path segment.
func matchSegment(glob, seg string) bool {
	gi, si := 0, 0
	star, mark := -1, 0
	for si < len(seg) {
		switch {
		case gi < len(glob) && glob[gi] == '*':
			star, mark = gi, si
			gi++
		case gi < len(glob) && glob[gi] == seg[si]:
			gi++
			si++
		case star >= 0:
			mark++
			gi, si = star+1, mark
		default:
			return false
		}
	}
	for gi < len(glob) && glob[gi] == '*' {
		gi++
	}
	return gi == len(glob)
}
