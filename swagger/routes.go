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
// match backtracks, as OpenAPI requires of concrete paths. Templates that
// differ only in parameter names are one route, decided by an omitted one
// if any. HEAD on a template with no HEAD operation finds its GET one.
//
// Routes is immutable: Lookup is safe for concurrent use, and allocates
// nothing.
type Routes struct {
	root      routeNode
	decisions []Decision
}

// routeNode is one segment position of a segment trie.
type routeNode struct {
	literal   map[string]*routeNode    // children by exact segment
	patterns  []*patternChild          // children whose segment has parameters, most specific first
	byPattern map[string]*patternChild // the same by patternKey, while the table is built
	ops       [len(methods)]int32      // decision index + 1 per method; 0 = none
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
		// Templates that differ only in parameter names
		// (/users/{id}.json, /users/{user_id}.json) are one route: OpenAPI
		// calls them identical, and no upstream can tell which one a call
		// is for. The first decides unless a later one is omitted: then
		// that one does, so that omitting either refuses their calls, as
		// the management proxy does for the .json and .xml forms of a path.
		if cur := n.ops[m]; cur == 0 || (decisions[cur-1].Kept && !d.Kept) {
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
	// Found by key, not by a scan of the siblings: a spec of many
	// templates under one segment would cost their square
	// (TestRoutesOfManySiblingTemplatesBuildInLinearTime).
	key := patternKey(parts)
	if p := n.byPattern[key]; p != nil {
		return &p.node
	}
	p := &patternChild{parts: parts}
	for _, pt := range parts {
		p.rank += len(pt.lit)
	}
	n.patterns = append(n.patterns, p)
	if n.byPattern == nil {
		n.byPattern = make(map[string]*patternChild)
	}
	n.byPattern[key] = p
	return &p.node
}

// patternKey names template parts whatever their parameters' names: a
// literal has no braces (splitParams), so "{}" marks a parameter.
func patternKey(parts []part) string {
	var b strings.Builder
	for _, p := range parts {
		if p.param {
			b.WriteString("{}")
		} else {
			b.WriteString(p.lit)
		}
	}
	return b.String()
}

func (n *routeNode) sort() {
	n.byPattern = nil
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

// Positions of GET and HEAD in methods.
const (
	getIndex  = 0
	headIndex = 5
)

func methodIndex(m string) int {
	switch m {
	case "GET":
		return getIndex
	case "PUT":
		return 1
	case "POST":
		return 2
	case "DELETE":
		return 3
	case "OPTIONS":
		return 4
	case "HEAD":
		return headIndex
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
// is the rule that omitted it (answer 403 naming it). HEAD on a template
// with a GET operation and no HEAD one gets the GET operation's decision
// (d.Operation.Method is GET): servers answer HEAD as GET without the body,
// Rails (3scale's porta) among them, so HEAD reads what GET does and is
// let through or refused with it.
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
// the decision index + 1 for method m, or 0. Each node is visited at most
// once, its segment being the request's at its depth, so a lookup costs at
// most a pass over the table.
func (n *routeNode) lookup(m int, rest string) int32 {
	if rest == "" {
		if i := n.ops[m]; i > 0 || m != headIndex {
			return i
		}
		return n.ops[getIndex]
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

// matchParts reports whether a path segment matches template parts, a
// parameter matching one or more characters.
//
// Parameters are never adjacent, so the parts read L0 {} L1 {} ... {} Ln,
// L0 and Ln possibly absent, as a glob whose every parameter is "one
// character, then any". One pass decides it: L0 must be a prefix and Ln a
// suffix, and each literal between is taken at its leftmost place that
// leaves the parameters before it their characters. Taking it further
// right only leaves less room for the rest, so a match exists exactly when
// this one succeeds. That costs O(len(parts)·len(seg)) and allocates
// nothing; trying every split instead costs a power of len(seg) as high as
// the parameter count: a minute for /archive/{year}-{month}-{day}-{slug}.json
// against a 2 KB segment of dashes.
func matchParts(parts []part, seg string) bool {
	need, anyLen := 0, false // characters the parameters since the last literal take at least; whether they may take more
	for i, p := range parts {
		if p.param {
			need++
			anyLen = true
			continue
		}
		if len(seg) < need+len(p.lit) {
			return false
		}
		switch {
		case !anyLen: // right after the previous literal, or at the start
			if !strings.HasPrefix(seg, p.lit) {
				return false
			}
			seg = seg[len(p.lit):]
		case i == len(parts)-1: // the last literal ends the segment
			return strings.HasSuffix(seg, p.lit)
		default:
			j := strings.Index(seg[need:], p.lit)
			if j < 0 {
				return false
			}
			seg = seg[need+j+len(p.lit):]
		}
		need, anyLen = 0, false
	}
	if anyLen {
		return len(seg) >= need
	}
	return seg == ""
}
