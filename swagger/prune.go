package swagger

import (
	"fmt"
	"strings"
)

// filter returns the document with the operations decided against removed,
// paths left with no operation removed, and then the components (or Swagger
// definitions, parameters, responses and security definitions) that nothing
// left refers to, transitively, removed, as are the tags that only removed
// operations used.
func (s *Spec) filter(decisions []Decision) ([]byte, error) {
	root := clone(s.root).(*object)
	dropped := make(map[string]bool) // tags of omitted operations
	if paths := root.obj("paths"); paths != nil {
		omitted := make(map[string]map[string]bool) // path → lower-case methods
		for _, d := range decisions {
			if d.Kept {
				continue
			}
			m := omitted[d.Operation.Path]
			if m == nil {
				m = make(map[string]bool)
				omitted[d.Operation.Path] = m
			}
			m[strings.ToLower(d.Operation.Method)] = true
			for _, t := range d.Operation.Tags {
				dropped[t] = true
			}
		}
		refs := s.newRefs()
		refs.omitted = omitted
		c := copier{refs: refs, left: maxNodes, textLeft: maxText}
		if err := c.inlineReferences(paths); err != nil {
			return nil, err
		}
		empty := make(map[string]bool) // paths left with no operation
		for _, p := range paths.keys {
			gone := omitted[p]
			if len(gone) == 0 {
				continue
			}
			// A path item that is a reference is inlined so that its
			// operations can be removed one by one.
			item, err := c.inlined(paths.vals[p])
			if err != nil {
				return nil, err
			}
			if item == nil {
				continue
			}
			paths.set(p, item)
			for m := range gone {
				item.del(m)
			}
			if !hasOperation(item) {
				empty[p] = true
			}
		}
		paths.retain(func(p string) bool { return !empty[p] })
	}
	pruneComponents(root, s.swagger2)
	pruneTags(root, dropped)
	return encodeTree(root, "  "), nil
}

// copier copies what references lead to, within a budget of values and one
// of text: N small references to one large path item would otherwise write
// N copies of it (TestSelectBoundsTextCopiedForReferences).
type copier struct {
	refs     *refs
	left     int // values that may still be copied
	textLeft int // bytes of keys and strings that may still be copied
}

// inlineReferences replaces every path item, and every operation of one,
// whose chain of references passes through a path that loses operations
// ("$ref": "#/paths/~1v1~1items", GET /v1/items omitted) with a copy of what
// it refers to, before any path is changed: a kept path that refers to an
// omitted one keeps its operations. Other references stay: what they refer
// to is kept.
func (c *copier) inlineReferences(paths *object) error {
	for _, p := range paths.keys {
		if c.refs.refersInto(paths.vals[p]) {
			item, err := c.inlined(paths.vals[p])
			if err != nil {
				return err
			}
			if item != nil {
				paths.set(p, item)
			}
		}
		item, _ := paths.vals[p].(*object)
		for _, m := range methods {
			if op := item.obj(m); c.refs.refersInto(op) {
				cp, err := c.inlined(op)
				if err != nil {
					return err
				}
				if cp != nil {
					item.set(m, cp)
				}
			}
		}
	}
	return nil
}

// inlined returns v as an object: a copy of what it leads to when it is a
// reference (nil when that is nowhere), else v itself.
func (c *copier) inlined(v any) (*object, error) {
	o, _ := v.(*object)
	if _, ok := o.get("$ref"); !ok {
		return o, nil
	}
	target := c.refs.resolve(o)
	if target == nil {
		return nil, nil
	}
	if c.left -= countValues(target, c.left+1); c.left < 0 {
		return nil, fmt.Errorf("the filtered document would copy more than %d values of path items that refer to omitted paths: refer to components instead", maxNodes)
	}
	if c.textLeft -= countText(target, c.textLeft+1); c.textLeft < 0 {
		return nil, fmt.Errorf("the filtered document would copy more than %d MiB of text of path items that refer to omitted paths: refer to components instead", maxText>>20)
	}
	return clone(target).(*object), nil
}

// countValues counts the values of v, stopping past limit.
func countValues(v any, limit int) int {
	n := 1
	switch v := v.(type) {
	case *object:
		for _, k := range v.keys {
			if n > limit {
				break
			}
			n += countValues(v.vals[k], limit-n)
		}
	case []any:
		for _, e := range v {
			if n > limit {
				break
			}
			n += countValues(e, limit-n)
		}
	}
	return n
}

// countText counts the bytes of the keys and strings of v, stopping past
// limit.
func countText(v any, limit int) int {
	n := 0
	switch v := v.(type) {
	case string:
		n = len(v)
	case *object:
		for _, k := range v.keys {
			if n > limit {
				break
			}
			n += len(k) + countText(v.vals[k], limit-n-len(k))
		}
	case []any:
		for _, e := range v {
			if n > limit {
				break
			}
			n += countText(e, limit-n)
		}
	}
	return n
}

func hasOperation(item *object) bool {
	for _, m := range methods {
		if _, ok := item.get(m); ok {
			return true
		}
	}
	return false
}

// componentSections returns the sections that hold named, referable
// definitions, each as a path from the root.
func componentSections(root *object, swagger2 bool) [][2]string {
	if swagger2 {
		return [][2]string{{"definitions"}, {"parameters"}, {"responses"}, {"securityDefinitions"}}
	}
	var out [][2]string
	for _, k := range root.obj("components").names() {
		if !strings.HasPrefix(k, "x-") {
			out = append(out, [2]string{"components", k})
		}
	}
	return out
}

func section(root *object, at [2]string) *object {
	if at[1] == "" {
		return root.obj(at[0])
	}
	return root.obj(at[0]).obj(at[1])
}

// pruneComponents removes every named definition that neither the rest of
// the document nor another definition in use refers to.
func pruneComponents(root *object, swagger2 bool) {
	// Sections and their objects are looked up in sets, not scanned: a
	// document may hold any number of sections, and every object and
	// reference of it is checked against them
	// (TestPruningManyComponentsTakesOnePass).
	sections := componentSections(root, swagger2)
	isSectionAt := make(map[[2]string]bool, len(sections))
	sectionObjects := make(map[*object]bool, len(sections))
	for _, at := range sections {
		isSectionAt[at] = true
		if o := section(root, at); o != nil {
			sectionObjects[o] = true
		}
	}
	isSection := func(o *object) bool { return sectionObjects[o] }
	schemes := [2]string{"components", "securitySchemes"}
	if swagger2 {
		schemes = [2]string{"securityDefinitions"}
	}

	used := make(map[[3]string]bool) // section path + name
	var queue []any
	mark := func(at [2]string, name string) {
		key := [3]string{at[0], at[1], name}
		if used[key] {
			return
		}
		if v, ok := section(root, at).get(name); ok {
			used[key] = true
			queue = append(queue, v)
		}
	}
	markRef := func(ref string) {
		tokens := pointerTokens(ref)
		switch {
		case swagger2 && len(tokens) > 1 && isSectionAt[[2]string{tokens[0]}]:
			mark([2]string{tokens[0]}, tokens[1])
		case !swagger2 && len(tokens) > 2 && tokens[0] == "components" && isSectionAt[[2]string{tokens[0], tokens[1]}]:
			mark([2]string{tokens[0], tokens[1]}, tokens[2])
		}
	}
	var walk func(v any, key string)
	walk = func(v any, key string) {
		switch v := v.(type) {
		case *object:
			if isSection(v) {
				return // reached through references only
			}
			for _, k := range v.keys {
				c := v.vals[k]
				switch k {
				case "$ref":
					if ref, ok := c.(string); ok {
						markRef(ref)
					}
				case "mapping": // a discriminator's mapping values are references
					if m, ok := c.(*object); ok && key == "discriminator" {
						for _, mk := range m.keys {
							if ref, ok := m.vals[mk].(string); ok {
								markRef(ref)
							}
						}
					}
				case "security": // requirements name security schemes
					if reqs, ok := c.([]any); ok {
						for _, name := range requirementNames(nil, reqs) {
							mark(schemes, name)
						}
					}
				}
				walk(c, k)
			}
		case []any:
			for _, e := range v {
				walk(e, key)
			}
		}
	}
	walk(root, "")
	for len(queue) > 0 {
		v := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		walk(v, "")
	}

	emptied := make(map[string]bool) // components sections left empty
	for _, at := range sections {
		sec := section(root, at)
		sec.retain(func(name string) bool {
			return used[[3]string{at[0], at[1], name}] || strings.HasPrefix(name, "x-")
		})
		if sec.len() == 0 {
			if at[1] == "" {
				root.del(at[0])
			} else {
				emptied[at[1]] = true
			}
		}
	}
	root.obj("components").retain(func(k string) bool { return !emptied[k] })
	if !swagger2 && root.obj("components") != nil && root.obj("components").len() == 0 {
		root.del("components")
	}
}

// retain keeps the keys of o that keep reports true for, in order, in one
// pass: deleting them one by one costs a scan of the keys each.
func (o *object) retain(keep func(k string) bool) {
	if o == nil {
		return
	}
	kept := o.keys[:0]
	for _, k := range o.keys {
		if keep(k) {
			kept = append(kept, k)
		} else {
			delete(o.vals, k)
		}
	}
	clear(o.keys[len(kept):])
	o.keys = kept
}

// pointerTokens splits a local JSON pointer reference ("#/a/b") into its
// unescaped tokens; nil for any other reference.
func pointerTokens(ref string) []string {
	if !strings.HasPrefix(ref, "#/") {
		return nil
	}
	toks := strings.Split(ref[2:], "/")
	for i, t := range toks {
		toks[i] = unescapePointer(t)
	}
	return toks
}

// pruneTags removes the tag definitions that only removed operations used.
func pruneTags(root *object, dropped map[string]bool) {
	if len(dropped) == 0 {
		return
	}
	inUse := make(map[string]bool)
	for _, p := range root.obj("paths").names() {
		item, _ := root.obj("paths").vals[p].(*object)
		for _, m := range methods {
			for _, t := range item.obj(m).arr("tags") {
				if t, ok := t.(string); ok {
					inUse[t] = true
				}
			}
		}
	}
	tags := root.arr("tags")
	if tags == nil {
		return
	}
	kept := make([]any, 0, len(tags))
	for _, t := range tags {
		o, _ := t.(*object)
		if name := o.str("name"); dropped[name] && !inUse[name] {
			continue
		}
		kept = append(kept, t)
	}
	if len(kept) == 0 {
		root.del("tags")
		return
	}
	root.set("tags", kept)
}
