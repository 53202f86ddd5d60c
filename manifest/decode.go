package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Decode reads the documents of one source: YAML documents separated by
// "---", a JSON object or array (JSON is read as the YAML it is), or a
// Kubernetes List (kind: List, items: [...]); Portolan's own documents and
// the 3scale toolbox's Product and Backend CRDs alike. Each document (each
// item of a JSON array) is parsed by itself, and refused past 4 MiB, so an
// anchor names a node of its own document only.
// source names the input in errors. It refuses the whole source on any
// problem, returning Errors: every problem found, each an *Error.
func Decode(r io.Reader, source string) ([]Document, error) {
	docs, errs := decodeSource(r, source)
	if len(errs) == 0 {
		errs = validateSet(docs)
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	return docs, nil
}

// Load reads the documents of files and directories: a directory's *.yaml,
// *.yml and *.json files (not its subdirectories), in name order; "-" is
// standard input. Names must be unique across everything loaded.
func Load(paths ...string) ([]Document, error) {
	var docs []Document
	var errs Errors
	for _, p := range paths {
		files, err := sources(p)
		if err != nil {
			return nil, err
		}
		for _, name := range files {
			d, es, err := loadFile(name)
			if err != nil {
				return nil, err
			}
			docs = append(docs, d...)
			for _, e := range es {
				errs.add(e)
			}
			if len(docs) > MaxDocuments {
				return nil, fmt.Errorf("load %s: more than %d documents", strings.Join(paths, ", "), MaxDocuments)
			}
		}
	}
	if len(errs) == 0 {
		errs = validateSet(docs)
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	return docs, nil
}

// sources lists the files path stands for.
func sources(path string) ([]string, error) {
	if path == "-" {
		return []string{path}, nil
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	if !info.IsDir() {
		return []string{path}, nil
	}
	entries, err := os.ReadDir(path) // sorted by name
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	var out []string
	for _, e := range entries {
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".yaml", ".yml", ".json":
			if !e.IsDir() {
				out = append(out, filepath.Join(path, e.Name()))
			}
		}
	}
	return out, nil
}

func loadFile(name string) ([]Document, Errors, error) {
	if name == "-" {
		docs, errs := decodeSource(os.Stdin, name)
		return docs, errs, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, fmt.Errorf("load: %w", err)
	}
	defer f.Close()
	docs, errs := decodeSource(f, name)
	return docs, errs, nil
}

// decodeSource reads and checks each document of one source on its own.
func decodeSource(r io.Reader, source string) ([]Document, Errors) {
	s := &reader{source: source, dec: newDecoder()}
	data, err := io.ReadAll(io.LimitReader(r, MaxBytes+1))
	if err != nil {
		s.errs.add(&Error{Source: source, Msg: "read: " + err.Error()})
		return nil, s.errs
	}
	if len(data) > MaxBytes {
		s.errs.add(&Error{Source: source, Msg: fmt.Sprintf("larger than %d MiB", MaxBytes>>20)})
		return nil, s.errs
	}
	s.read(data)
	return s.docs, s.errs
}

// reader reads the documents of one source.
type reader struct {
	source string
	dec    *decoder
	docs   []Document
	errs   Errors
	index  int // documents seen
}

// read reads the documents of a source, each parsed by itself: a YAML
// document, or a group of a JSON array's items.
func (s *reader) read(data []byte) {
	data = jsonSurrogates(data)
	if open, line := jsonArray(data); open >= 0 {
		s.readArray(data, open, line)
		return
	}
	for c := range yamlDocuments(data) {
		if len(c.data) > maxDocumentBytes {
			s.tooLarge(c.line)
			return
		}
		if !s.parse(bytes.NewReader(c.data), c.line, func(n *yaml.Node) bool { return s.root(n, 0) }) {
			return
		}
	}
}

// readArray reads a source that is one JSON array (as `portolan apply`
// sends documents to home): its items in groups of up to maxDocumentBytes,
// each group parsed by itself, as the array's items. A JSON text has no
// anchors, so nothing is shared between groups that reading it whole
// would share.
func (s *reader) readArray(data []byte, open, line int) {
	items := 0
	for range jsonItems(data, open, line) {
		items++
	}
	// The array itself, as reading it whole counts it.
	if err := s.dec.count(1+items, "", line+1); err != nil {
		s.fail(nil, "", "", err)
		return
	}
	from, to, fromLine := -1, 0, 0
	flush := func() bool {
		if from < 0 {
			return true
		}
		group := io.MultiReader(strings.NewReader("["), bytes.NewReader(data[from:to]), strings.NewReader("]"))
		from = -1
		return s.parse(group, fromLine, func(n *yaml.Node) bool {
			for _, item := range n.Content {
				if !s.root(item, 1) {
					return false
				}
			}
			return true
		})
	}
	for span, l := range jsonItems(data, open, line) {
		if span[1]-span[0] > maxDocumentBytes {
			if flush() {
				s.tooLarge(l)
			}
			return
		}
		if from >= 0 && span[1]-from > maxDocumentBytes && !flush() {
			return
		}
		if from < 0 {
			from, fromLine = span[0], l
		}
		to = span[1]
	}
	flush()
}

// parse reads the YAML documents of r, whose first line is line (from 0)
// in the source, with a parser of their own, and gives each document's
// value to each; it reports false once reading must stop.
func (s *reader) parse(r io.Reader, line int, each func(*yaml.Node) bool) bool {
	shift := 0
	if line > 0 {
		// A blank line first: the library names no line for a problem on
		// its first, which in the source has one.
		r = io.MultiReader(strings.NewReader("\n"), r)
		shift = line - 1
	}
	yd := yaml.NewDecoder(r)
	for {
		var n yaml.Node
		err := yd.Decode(&n)
		if errors.Is(err, io.EOF) {
			return true
		}
		if err != nil {
			e := &Error{Source: s.source, Index: s.index + 1, Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
			if m := yamlLine.FindStringSubmatch(e.Msg); m != nil {
				e.Line, _ = strconv.Atoi(m[1])
				e.Line += shift
				e.Msg = m[2]
			}
			if strings.HasPrefix(e.Msg, "unknown anchor ") {
				e.Msg += ": an alias names an anchor of its own document (anchors do not reach across ---)"
			}
			s.errs.add(e)
			return false
		}
		shiftLines(&n, shift)
		if len(n.Content) == 0 || emptyNode(n.Content[0]) {
			continue // an empty document, as after a trailing "---"
		}
		if !each(n.Content[0]) {
			return false
		}
	}
}

// emptyNode reports the content of a document that says nothing: the YAML
// library gives an explicit "---" followed by nothing (or comments only)
// an untagged, unquoted empty null. A document that says null (null, ~,
// !!null) or "" is not one, and is refused as no mapping.
func emptyNode(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Value == "" && n.Style == 0 && n.Anchor == "" && n.ShortTag() == "!!null"
}

// shiftLines adds shift to the line of n and of every node under it (an
// alias's target is under the document once, and moved there).
func shiftLines(n *yaml.Node, shift int) {
	if shift == 0 {
		return
	}
	n.Line += shift
	for _, c := range n.Content {
		shiftLines(c, shift)
	}
}

// tooLarge refuses the next document, which starts at line (from 0).
func (s *reader) tooLarge(line int) {
	s.errs.add(&Error{Source: s.source, Index: s.index + 1, Line: line + 1,
		Msg: fmt.Sprintf("larger than %d MiB, the most one document may be: split it into documents (separated by ---, or items of a JSON array)", maxDocumentBytes>>20)})
}

// yamlLine finds the line in the YAML parser's errors.
var yamlLine = regexp.MustCompile(`^line ([0-9]+): (.*)$`)

// root reads one top-level value: a document, a list of them (JSON) or a
// Kubernetes List. It reports false once reading must stop.
func (s *reader) root(n *yaml.Node, depth int) bool {
	n, err := s.dec.visit(n, "", depth)
	if err != nil {
		s.fail(nil, "", "", err)
		return false
	}
	if n.Kind == yaml.SequenceNode {
		for _, item := range n.Content {
			if !s.root(item, depth+1) {
				return false
			}
		}
		return true
	}
	if n.Kind == yaml.MappingNode && scalar(n, "kind") == "List" && scalar(n, "apiVersion") == "v1" {
		// A List is named by the position its first item takes: its items
		// are counted one by one, the List itself not.
		// Every key once: a reader taking the last items would read other
		// documents.
		if k := twice(n, "apiVersion", "kind", "items", "metadata"); k != nil {
			s.failAt(s.index+1, n, "List", "", errorf(k.Value, k.Line, "given twice"))
			return true
		}
		items := value(n, "items")
		for k := 0; k+1 < len(n.Content); k += 2 {
			if key := n.Content[k].Value; key != "apiVersion" && key != "kind" && key != "items" && key != "metadata" {
				s.failAt(s.index+1, n, "List", "", errorf(key, n.Content[k].Line, "unknown field of a List (known: apiVersion, kind, metadata, items)"))
				return true
			}
		}
		if meta := value(n, "metadata"); meta != nil {
			// Read and left, as a document's, under the same rules: counted,
			// no tag, key given twice or merge key.
			var b bytes.Buffer
			if err := s.dec.writeJSON(&b, meta, &rawPath{base: "metadata"}, depth+1); err != nil {
				s.failAt(s.index+1, n, "List", "", err)
				return true
			}
		}
		if items == nil {
			return true
		}
		if items.Kind != yaml.SequenceNode {
			s.failAt(s.index+1, n, "List", "", errorf("items", items.Line, "must be a list, not %s", describe(items)))
			return true
		}
		return s.root(items, depth+1)
	}
	s.index++
	if s.index > MaxDocuments {
		s.errs.add(&Error{Source: s.source, Msg: fmt.Sprintf("more than %d documents", MaxDocuments)})
		return false
	}
	s.document(n, depth)
	return true
}

// document reads one document, by its apiVersion and kind.
func (s *reader) document(n *yaml.Node, depth int) {
	if n.Kind != yaml.MappingNode {
		s.fail(n, "", "", errorf("", n.Line, "must be a mapping with apiVersion and kind, not %s", describe(n)))
		return
	}
	apiVersion, kind := scalar(n, "apiVersion"), scalar(n, "kind")
	if k := twice(n, "apiVersion", "kind"); k != nil {
		// Read before the rest, as their first occurrence: a reader taking
		// the last would read another document.
		s.fail(n, kind, "", errorf(k.Value, k.Line, "given twice"))
		return
	}
	switch apiVersion {
	case APIVersion:
		s.native(n, Kind(kind), depth)
	case crdAPIVersion:
		s.crd(n, kind, depth)
	case "":
		s.fail(n, kind, "", errorf("apiVersion", n.Line, "is required: %s, or %s for the 3scale toolbox's Product and Backend", APIVersion, crdAPIVersion))
	default:
		s.fail(n, kind, "", errorf("apiVersion", n.Line, "%q is not one of %s, %s (Product, Backend), v1 (List)", apiVersion, APIVersion, crdAPIVersion))
	}
}

// native reads one of Portolan's own documents.
func (s *reader) native(n *yaml.Node, kind Kind, depth int) {
	doc := Document{Kind: kind, Origin: Origin{Source: s.source, Index: s.index, Line: n.Line}}
	name := scalar(n, nameField(kind))
	target := doc.entity()
	if target == nil {
		s.fail(n, string(kind), "", errorf("kind", n.Line, "%q is not one of Backend, Service, AccountPlan, Account, Placement", string(kind)))
		return
	}
	body := without(n, "apiVersion", "kind")
	if err := s.dec.decode(body, reflectValue(target), "", depth); err != nil {
		s.fail(n, string(kind), name, err)
		return
	}
	for _, e := range validateDocument(&doc) {
		s.fail(n, string(kind), name, e)
	}
	s.docs = append(s.docs, doc)
}

// fail records a problem with the current document.
func (s *reader) fail(n *yaml.Node, kind, name string, err error) {
	s.failAt(s.index, n, kind, name, err)
}

// failAt records a problem with the document at index.
func (s *reader) failAt(index int, n *yaml.Node, kind, name string, err error) {
	e := &Error{Source: s.source, Index: index, Kind: kind, Name: name, Msg: err.Error()}
	if n != nil {
		e.Line = n.Line
	}
	var fe *fieldError
	if errors.As(err, &fe) {
		e.Path, e.Msg = fe.path, fe.msg
		if fe.line > 0 {
			e.Line = fe.line
		}
	}
	s.errs.add(e)
}

// nameField is the field that names an entity of a kind.
func nameField(k Kind) string {
	switch k {
	case KindAccount:
		return "org_name"
	case KindPlacement:
		return "name"
	}
	return "system_name"
}

// value returns the value of key in mapping n, nil when absent.
func value(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Kind == yaml.ScalarNode && n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// scalar returns the text of key in mapping n, "" when absent or not text.
func scalar(n *yaml.Node, key string) string {
	if v := value(n, key); v != nil && v.Kind == yaml.ScalarNode {
		return v.Value
	}
	return ""
}

// twice returns the second occurrence of any of keys in mapping n, nil
// when each is there once at most.
func twice(n *yaml.Node, keys ...string) *yaml.Node {
	seen := make([]bool, len(keys))
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if k.Kind != yaml.ScalarNode {
			continue
		}
		if at := slices.Index(keys, k.Value); at >= 0 {
			if seen[at] {
				return k
			}
			seen[at] = true
		}
	}
	return nil
}

// without returns a copy of mapping n without keys.
func without(n *yaml.Node, keys ...string) *yaml.Node {
	out := *n
	out.Content = nil
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if k.Kind == yaml.ScalarNode && slices.Contains(keys, k.Value) {
			continue
		}
		out.Content = append(out.Content, k, n.Content[i+1])
	}
	return &out
}

// reflectValue is the settable value a pointer points to.
func reflectValue(p any) reflect.Value { return reflect.ValueOf(p).Elem() }
