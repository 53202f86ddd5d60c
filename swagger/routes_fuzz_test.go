package swagger

import (
	"strconv"
	"strings"
	"testing"
)

// FuzzRoutesLookup holds Lookup to a plain reading of its templates: a path
// is found exactly when some template matches it segment by segment, a
// segment with parameters as matchPartsByEverySplit reads it, and what is
// found is a template that matches, omitted when a twin template (the same
// but for parameter names) is omitted. HEAD, with no HEAD operation, finds
// what GET finds.
func FuzzRoutesLookup(f *testing.F) {
	f.Fuzz(func(t *testing.T, templates, path string) {
		// The oracle tries every split of a segment: keep it quick.
		if len(path) > 48 || len(templates) > 512 {
			return
		}
		var decisions []Decision
		for i, tmpl := range strings.Split(templates, "\n") {
			if i == 8 {
				break
			}
			if maxParams(tmpl) > 4 {
				return
			}
			decisions = append(decisions, Decision{
				Operation: Operation{Method: "GET", Path: tmpl, ID: strconv.Itoa(i)},
				Kept:      i%3 != 2,
			})
		}
		routes := newRoutes("", decisions)

		d, found := routes.Lookup("GET", path)
		want := false
		for _, d := range decisions {
			want = want || matchesByEverySplit(d.Operation.Path, path)
		}
		if found != want {
			t.Fatalf("GET %q found=%v, the templates %q say %v", path, found, templates, want)
		}
		if !found {
			if d.Operation.Method != "" || d.Kept || d.Rule != "" {
				t.Fatalf("GET %q: not found yet decision %+v", path, d)
			}
		} else {
			if !matchesByEverySplit(d.Operation.Path, path) {
				t.Fatalf("GET %q found template %q, which does not match it", path, d.Operation.Path)
			}
			for _, twin := range decisions {
				if routeKey(twin.Operation.Path) == routeKey(d.Operation.Path) && !twin.Kept && d.Kept {
					t.Fatalf("GET %q kept as %q although its twin %q is omitted", path, d.Operation.Path, twin.Operation.Path)
				}
			}
		}

		h, hfound := routes.Lookup("HEAD", path)
		if hfound != found || h.Operation.ID != d.Operation.ID || h.Kept != d.Kept {
			t.Fatalf("HEAD %q found %v %q, GET found %v %q", path, hfound, h.Operation.ID, found, d.Operation.ID)
		}
	})
}

// maxParams returns the most parameter parts of one segment of tmpl.
func maxParams(tmpl string) int {
	most := 0
	for seg := range strings.SplitSeq(tmpl, "/") {
		parts, _ := splitParams(seg)
		n := 0
		for _, p := range parts {
			if p.param {
				n++
			}
		}
		most = max(most, n)
	}
	return most
}

// routeSegments splits a template as newRoutes does: empty segments drop.
func routeSegments(tmpl string) []string {
	var segs []string
	for seg := range strings.SplitSeq(strings.Trim(tmpl, "/"), "/") {
		if seg != "" {
			segs = append(segs, seg)
		}
	}
	return segs
}

// routeKey is the same for templates that newRoutes makes one route.
func routeKey(tmpl string) string {
	var b strings.Builder
	for _, seg := range routeSegments(tmpl) {
		b.WriteByte('/')
		parts, ok := splitParams(seg)
		if !ok {
			b.WriteString(strconv.Quote(seg))
			continue
		}
		for _, p := range parts {
			if p.param {
				b.WriteString("{}")
			} else {
				b.WriteString(strconv.Quote(p.lit))
			}
		}
	}
	return b.String()
}

// matchesByEverySplit reports whether a normalised request path matches a
// template, by the route table's rules read one segment at a time.
func matchesByEverySplit(tmpl, path string) bool {
	if path == "" || path[0] != '/' {
		return false
	}
	var segs []string
	if path != "/" {
		segs = strings.Split(path[1:], "/")
	}
	want := routeSegments(tmpl)
	if len(segs) != len(want) {
		return false
	}
	for i, seg := range segs {
		if seg == "" {
			return false // "//" or a trailing slash: not normalised
		}
		parts, ok := splitParams(want[i])
		if !ok {
			if seg != want[i] {
				return false
			}
			continue
		}
		if !matchPartsByEverySplit(parts, seg) {
			return false
		}
	}
	return true
}

// matchPartsByEverySplit is the matcher routes.go had before matchParts:
// it tries every split of the segment, one recursion per parameter, which
// is slow (polynomial of the degree of the parameter count) but plainly
// right.
func matchPartsByEverySplit(parts []part, seg string) bool {
	if len(parts) == 0 {
		return seg == ""
	}
	p := parts[0]
	if !p.param {
		return strings.HasPrefix(seg, p.lit) && matchPartsByEverySplit(parts[1:], seg[len(p.lit):])
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
		if matchPartsByEverySplit(parts[1:], seg[i:]) {
			return true
		}
	}
	return false
}

// requestPath fills every parameter of a template (with the base path
// before it) with a value, giving a normalised path that the route table
// built from it must find.
func requestPath(basePath, tmpl string) string {
	var b strings.Builder
	for _, seg := range routeSegments(basePath + tmpl) {
		b.WriteByte('/')
		parts, ok := splitParams(seg)
		if !ok {
			b.WriteString(seg)
			continue
		}
		for _, p := range parts {
			if p.param {
				b.WriteString("1")
			} else {
				b.WriteString(p.lit)
			}
		}
	}
	if b.Len() == 0 {
		return "/"
	}
	return b.String()
}
