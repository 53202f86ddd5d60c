package manifest

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Bounds of what one Decode reads: an image's documents are untrusted, so
// neither their size nor their shape may cost home more than this.
const (
	// MaxBytes bounds one source (file or reader).
	MaxBytes = 16 << 20
	// MaxDocuments bounds the documents of one source, and of one Load.
	MaxDocuments = 10000
	// maxDepth bounds nesting: the format nests a handful of levels, a
	// policy's configuration a few more.
	maxDepth = 64
	// maxNodes bounds the YAML values read per source, aliases expanded
	// each time they are used (a "billion laughs" stops here) and a list
	// or mapping counting its length each time it is read: reading one
	// (scanning it for a key, copying it, making a slice for it) is linear
	// in its length, and an anchor is shared by the rest of its document.
	maxNodes = 2 << 20
	// maxDocumentBytes bounds one document of a source (one item of a JSON
	// array), checked before the YAML library parses it: the library
	// builds a document's whole tree before a value of it is counted, at
	// up to 140 bytes of memory per byte (a flow list of one-letter
	// values), so one such document of 4 MiB holds up to about 570 MiB at
	// once, where one of 16 MiB held 1.5 GiB (BenchmarkDecodeMemory). The
	// largest document a composition is expected to hold, a service of
	// 2,000 methods, a mapping rule for each and 5 plans limiting and
	// pricing each, is 2.3 MiB as `portolan export -o yaml` writes it and
	// 3.5 MiB as indented JSON (50 MiB at once).
	maxDocumentBytes = 4 << 20
	// maxRawBytes bounds a value kept as written (a policy's configuration).
	maxRawBytes = 1 << 20
	// maxNameBytes bounds a name (a system_name, a reference to one, a
	// mapping's key): composition's bound (maxNameLen in
	// composition/validate.go), which home would refuse past anyway. Names
	// label error paths, so a longer one would be repeated in every path
	// and message about what it names.
	maxNameBytes = 255
	// maxTextBytes bounds any other text: composition's longest
	// (maxTextLen in composition/validate.go).
	maxTextBytes = 64 << 10
)

// visit counts a node against the budget, resolves an alias and refuses a
// tag the decoder does not read.
func (d *decoder) visit(n *yaml.Node, path string, depth int) (*yaml.Node, error) {
	for n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return nil, errorf(path, n.Line, "alias to nothing")
		}
		n = n.Alias
		depth++
	}
	if err := d.count(1+len(n.Content), path, n.Line); err != nil {
		return nil, err
	}
	if depth > maxDepth {
		return nil, errorf(path, n.Line, "nested deeper than %d levels", maxDepth)
	}
	if tag := n.ShortTag(); !readTags[tag] {
		return nil, errorf(path, n.Line, "the tag %s is not read: drop it (values are read as written)", short(tag))
	}
	return n, nil
}

// count charges values read to the budget.
func (d *decoder) count(values int, path string, line int) error {
	d.nodes += values
	if d.nodes > maxNodes {
		return errorf(path, line, "too many values (more than %d, aliases counted each time they are used)", maxNodes)
	}
	return nil
}

// readTags are the tags the decoder reads: YAML's own types, which a value
// has without a tag too. Any other (!!binary, !!python/..., !custom) asks a
// reader for a conversion this one would not make.
var readTags = map[string]bool{
	"!!str": true, "!!int": true, "!!float": true, "!!bool": true, "!!null": true,
	"!!map": true, "!!seq": true, "!!timestamp": true, "!!merge": true,
}

// checkKey refuses a mapping's key that YAML readers read differently
// (a merge key) or that is longer than a name.
func checkKey(k *yaml.Node, path string) error {
	if k.ShortTag() == "!!merge" {
		return errorf(join(path, "<<"), k.Line, "a merge key (<<) is not read: write the fields out (or quote \"<<\" for a key of that name)")
	}
	if len(k.Value) > maxNameBytes {
		return errorf(path, k.Line, "a key longer than %d bytes", maxNameBytes)
	}
	return nil
}

// checkText refuses a text longer than home keeps.
func checkText(n *yaml.Node, path string) error {
	if len(n.Value) > maxTextBytes {
		return errorf(path, n.Line, "longer than %d KiB", maxTextBytes>>10)
	}
	return nil
}

// checkNumber refuses an integer written with a leading zero: YAML 1.1 (and
// the YAML library) reads 012 as octal 10, YAML 1.2 as 12, JSON not at all,
// so a limit of 0100 meant as 100 would be 64.
func checkNumber(n *yaml.Node, path string) error {
	if n.Style != 0 || !leadingZero(n.Value) {
		return nil
	}
	sign := ""
	if strings.HasPrefix(n.Value, "-") {
		sign = "-"
	}
	digits := strings.TrimLeft(strings.TrimLeft(n.Value, "+-"), "0_")
	if digits == "" {
		digits = "0"
	}
	octal := ""
	if v, err := strconv.ParseInt(n.Value, 0, 64); err == nil {
		octal = " (" + strconv.FormatInt(v, 10) + ")"
	}
	return errorf(path, n.Line, "%s has a leading zero, which YAML 1.1 reads as octal%s: write %s, or %s0o%s for octal",
		short(n.Value), octal, short(sign+digits), sign, short(digits))
}

// leadingZero reports an integer literal with a zero before its digits.
func leadingZero(s string) bool {
	s = strings.TrimLeft(s, "+-")
	if len(s) < 2 || s[0] != '0' {
		return false
	}
	for _, c := range s[1:] {
		if (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// short is s cut to a name's length for messages, on a rune boundary.
func short(s string) string {
	if len(s) <= maxNameBytes {
		return s
	}
	cut := maxNameBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
