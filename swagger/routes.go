package swagger

import (
	"sort"
	"strings"
)

// Routes is the route table of all operations of a spec, kept and omitted.
// It matches a method and a request path that the caller has already
// normalised (no "..", "//", percent-encoding or trailing slash). Path
// parameters ({id}) match a whole segment or a part of one ("{id}.json"
// matches "42.json"), never an empty string; the spec's base path prefixes
// every template. A literal segment wins over a parameter, and a failed
// match backtracks, as OpenAPI requires of concrete paths.
//
// Routes is immutable: Lookup is safe for concurrent use, and allocates
// nothing.
type Routes struct {
	root      routeNode
	decisions []Decision
}

// routeNode is one segment position of a segment trie.
type routeNode struct {
	literal  map[string]*routeNode // children by exact segment
	patterns []*patternChild       // children whose segment has parameters, most specific first
	ops      [len(methods)]int32   // decision index + 1 per method; 0 = none
}

type patternChild struct {
	parts []part // literals and parameters, alternating as written
	node  routeNode
	rank  int // literal characters: more is more specific
}

// part is a literal, or a parameter when param is set.
type part struct {
	lit   string
	param bool
}

func newRoutes(basePath string, decisions []Decision) *Routes {
	r := &Routes{decisions: decisions}
	for i, d := range decisions {
		m := methodIndex(d.Operation.Method)
		if m < 0 {
			continue
		}
		n := &r.root
		for seg := range strings.SplitSeq(strings.Trim(basePath+d.Operation.Path, "/"), "/") {
			if seg == "" {
				continue
			}
			n = n.child(seg)
		}
		if n.ops[m] == 0 { // the first of duplicate templates wins
			n.ops[m] = int32(i + 1)
		}
	}
	r.root.sort()
	return r
}

// child returns the child for a template segment, adding it if need be.
func (n *routeNode) child(seg string) *routeNode {
	parts, ok := splitParams(seg)
	if !ok {
		if n.literal == nil {
			n.literal = make(map[string]*routeNode)
		}
		c := n.literal[seg]
		if c == nil {
			c = &routeNode{}
			n.literal[seg] = c
		}
		return c
	}
	for _, p := range n.patterns {
		if samePattern(p.parts, parts) {
			return &p.node
		}
	}
	p := &patternChild{parts: parts}
	for _, pt := range parts {
		p.rank += len(pt.lit)
	}
	n.patterns = append(n.patterns, p)
	return &p.node
}

func (n *routeNode) sort() {
	sort.SliceStable(n.patterns, func(i, j int) bool { return n.patterns[i].rank > n.patterns[j].rank })
	for _, c := range n.literal {
		c.sort()
	}
	for _, p := range n.patterns {
		p.node.sort()
	}
}

// splitParams splits a template segment into literal and parameter parts;
// ok is false when it has no parameter (or an unreadable one, which is then
// taken literally). Adjacent parameters ({a}{b}) cannot be told apart and
// read as one.
func splitParams(seg string) (parts []part, ok bool) {
	if _, err := normalizeParams(seg); err != nil || !strings.Contains(seg, "{") {
		return nil, false
	}
	for seg != "" {
		open := strings.IndexByte(seg, '{')
		if open < 0 {
			parts = append(parts, part{lit: seg})
			break
		}
		if open > 0 {
			parts = append(parts, part{lit: seg[:open]})
		}
		if len(parts) == 0 || !parts[len(parts)-1].param {
			parts = append(parts, part{param: true})
		}
		seg = seg[open+strings.IndexByte(seg[open:], '}')+1:]
	}
	return parts, true
}

func samePattern(a, b []part) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func methodIndex(m string) int {
	switch m {
	case "GET":
		return 0
	case "PUT":
		return 1
	case "POST":
		return 2
	case "DELETE":
		return 3
	case "OPTIONS":
		return 4
	case "HEAD":
		return 5
	case "PATCH":
		return 6
	case "TRACE":
		return 7
	}
	return -1
}

// Lookup finds the operation for method (upper case) and a normalised
// request path, base path included. An empty segment ("//") or a trailing
// slash matches nothing. found is false when no operation of the
// spec has this method and path (answer 404); when found and !d.Kept, d.Rule
// is the rule that omitted it (answer 403 naming it).
func (r *Routes) Lookup(method, path string) (d Decision, found bool) {
	m := methodIndex(method)
	if m < 0 || path == "" || path[0] != '/' {
		return Decision{}, false
	}
	if i := r.root.lookup(m, path[1:]); i > 0 {
		return r.decisions[i-1], true
	}
	return Decision{}, false
}

// lookup matches the rest of a path (no leading slash) below n and returns
// the decision index + 1 for method m, or 0.
func (n *routeNode) lookup(m int, rest string) int32 {
	if rest == "" {
		return n.ops[m]
	}
	seg, tail := rest, ""
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		seg, tail = rest[:i], rest[i+1:]
		if tail == "" {
			return 0 // a trailing slash: not a normalised path
		}
	}
	if c := n.literal[seg]; c != nil {
		if i := c.lookup(m, tail); i > 0 {
			return i
		}
	}
	for _, p := range n.patterns {
		if matchParts(p.parts, seg) {
			if i := p.node.lookup(m, tail); i > 0 {
				return i
			}
		}
	}
	return 0
}

// matchParts matches a path segment against template parts; a parameter
// matches one or more characters.
func matchParts(parts []part, seg string) bool {
	if len(parts) == 0 {
		return seg == ""
	}
	p := parts[0]
	if !p.param {
		return strings.HasPrefix(seg, p.lit) && matchParts(parts[1:], seg[len(p.lit):])
	}
	if len(parts) == 1 {
		return seg != ""
	}
	next := parts[1].lit // parameters are never adjacent
	for i := 1; i+len(next) <= len(seg); i++ {
		j := strings.Index(seg[i:], next)
		if j < 0 {
			return false
		}
		i += j
		if matchParts(parts[1:], seg[i:]) {
			return true
		}
	}
	return false
}
