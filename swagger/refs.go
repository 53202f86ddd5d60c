package swagger

import (
	"net/url"
	"slices"
	"strings"
)

// refs follows a document's local references ("$ref": "#/a/b"), each
// reference string once: what a chain of references ends at, and whether it
// passes through an omitted path, is remembered for every reference on it.
// Walking every chain again for every value that starts one costs, for a
// document whose many values refer through a cycle or a long chain to deeply
// nested places, a pointer walk per step per value: hours for a spec of a
// few megabytes (TestHostileReferenceChainsCostOnePass). Not safe for
// concurrent use: each reading of a Spec makes its own.
type refs struct {
	s       *Spec
	ends    map[string]refEnd
	omitted map[string]map[string]bool // path → lower-case methods: what through reports on
	through map[string]bool
}

// refEnd is where the chain of references from one ends: the object, and
// the references followed to reach it, this one included. hops is -1 for a
// chain that closes on itself (or is being walked).
type refEnd struct {
	obj  *object
	hops int
}

func (s *Spec) newRefs() *refs {
	return &refs{s: s, ends: map[string]refEnd{}, through: map[string]bool{}}
}

// refOf returns the reference o is, if it is one ("" for a $ref that is no
// string, which leads nowhere).
func refOf(o *object) (string, bool) {
	v, ok := o.get("$ref")
	if !ok {
		return "", false
	}
	ref, _ := v.(string)
	return ref, true
}

// resolve follows a local reference ("#/a/b") if v is one, and returns the
// object found, or nil: for a reference to nothing, to no object, around a
// cycle, or through maxDepth references or more.
func (r *refs) resolve(v any) *object {
	o, _ := v.(*object)
	ref, ok := refOf(o)
	if !ok {
		return o
	}
	e := r.end(ref)
	if e.hops < 0 || e.hops >= maxDepth {
		return nil
	}
	return e.obj
}

// end walks the chain from ref to the first reference already known or
// the first value that is no reference, and records where every reference
// on the way ends.
func (r *refs) end(ref string) refEnd {
	var chain []string
	tail := refEnd{hops: -1} // where the last reference of chain leads
	for cur := ref; ; {
		if e, ok := r.ends[cur]; ok {
			tail = e // a reference being walked: the chain is a cycle (hops -1)
			break
		}
		r.ends[cur] = refEnd{hops: -1}
		chain = append(chain, cur)
		o, _ := r.s.pointer(cur).(*object)
		next, ok := refOf(o)
		if !ok {
			tail = refEnd{obj: o}
			break
		}
		cur = next
	}
	for i, c := range chain {
		e := refEnd{hops: -1}
		if tail.hops >= 0 {
			e = refEnd{obj: tail.obj, hops: tail.hops + len(chain) - i}
		}
		r.ends[c] = e
	}
	return r.ends[ref]
}

// refersInto reports whether v is a reference whose chain of references
// passes through one of the paths in r.omitted.
func (r *refs) refersInto(v any) bool {
	o, _ := v.(*object)
	ref, ok := refOf(o)
	return ok && r.passes(ref)
}

// passes reports whether the chain from ref passes through an omitted path,
// recording it for every reference on the way.
func (r *refs) passes(ref string) bool {
	var chain []string
	tail := false // whether what the last reference of chain leads to passes
	for cur := ref; ; {
		if p, ok := r.through[cur]; ok {
			if i := slices.Index(chain, cur); i >= 0 { // a cycle: it passes where any of its references does
				tail = slices.ContainsFunc(chain[i:], r.intoOmitted)
			} else {
				tail = p
			}
			break
		}
		r.through[cur] = false
		chain = append(chain, cur)
		o, _ := r.s.pointer(cur).(*object)
		next, ok := refOf(o)
		if !ok {
			break
		}
		cur = next
	}
	for i := len(chain) - 1; i >= 0; i-- {
		tail = tail || r.intoOmitted(chain[i])
		r.through[chain[i]] = tail
	}
	return r.through[ref]
}

// intoOmitted reports whether ref points into a path that loses operations.
func (r *refs) intoOmitted(ref string) bool {
	rest, ok := strings.CutPrefix(ref, "#/paths/")
	if !ok {
		return false
	}
	tok, _, _ := strings.Cut(rest, "/")
	return len(r.omitted[unescapePointer(tok)]) > 0
}

// pointer returns the value a local reference ("#/a/b") points to, or nil.
func (s *Spec) pointer(ref string) any {
	if !strings.HasPrefix(ref, "#") {
		return nil
	}
	p := strings.TrimPrefix(ref[1:], "/")
	var v any = s.root
	if p == "" {
		return v
	}
	for tok := range strings.SplitSeq(p, "/") {
		tok = unescapePointer(tok)
		switch c := v.(type) {
		case *object:
			var ok bool
			if v, ok = c.get(tok); !ok {
				return nil
			}
		default:
			return nil // no references into arrays in the places we follow
		}
	}
	return v
}

func unescapePointer(tok string) string {
	if u, err := url.PathUnescape(tok); err == nil {
		tok = u
	}
	return strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
}
