package manifest

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"

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
	// maxNodes bounds the YAML nodes visited per source, aliases expanded
	// each time they are used (a "billion laughs" stops here).
	maxNodes = 2 << 20
	// maxRawBytes bounds a value kept as written (a policy's configuration).
	maxRawBytes = 1 << 20
)

// nodeDecoder is a type that decodes itself from a YAML scalar (Decimal and
// the CRDs' lenient numbers).
type nodeDecoder interface {
	decodeNode(n *yaml.Node) error
}

var (
	rawMessageType  = reflect.TypeFor[json.RawMessage]()
	nodeDecoderType = reflect.TypeFor[nodeDecoder]()
)

// decoder decodes YAML nodes into the format's Go types strictly: unknown
// fields, duplicate keys, values of the wrong type or out of their set are
// errors naming the field path. Fields come from the json tags (tags.go).
type decoder struct {
	nodes  int
	fields map[reflect.Type][]field
}

func newDecoder() *decoder { return &decoder{fields: map[reflect.Type][]field{}} }

func (d *decoder) fieldsOf(t reflect.Type) []field {
	fs, ok := d.fields[t]
	if !ok {
		fs = fields(t)
		d.fields[t] = fs
	}
	return fs
}

// visit counts a node against the budget and resolves an alias.
func (d *decoder) visit(n *yaml.Node, path string, depth int) (*yaml.Node, error) {
	for n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return nil, errorf(path, n.Line, "alias to nothing")
		}
		n = n.Alias
		depth++
	}
	d.nodes++
	if d.nodes > maxNodes {
		return nil, errorf(path, n.Line, "too many values (more than %d, aliases counted each time they are used)", maxNodes)
	}
	if depth > maxDepth {
		return nil, errorf(path, n.Line, "nested deeper than %d levels", maxDepth)
	}
	return n, nil
}

// decode decodes n into v (addressable) at path.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string, depth int) error {
	n, err := d.visit(n, path, depth)
	if err != nil {
		return err
	}
	if v.Type() == rawMessageType {
		var b bytes.Buffer
		if err := d.writeJSON(&b, n, path, depth); err != nil {
			return err
		}
		if b.Len() > maxRawBytes {
			return errorf(path, n.Line, "larger than %d KiB", maxRawBytes>>10)
		}
		if b.String() == "null" {
			v.SetBytes(nil)
			return nil
		}
		v.SetBytes(b.Bytes())
		return nil
	}
	if v.Addr().Type().Implements(nodeDecoderType) {
		if n.Kind != yaml.ScalarNode {
			return errorf(path, n.Line, "must be a number, not %s", describe(n))
		}
		if err := v.Addr().Interface().(nodeDecoder).decodeNode(n); err != nil {
			return errorf(path, n.Line, "%v", err)
		}
		return nil
	}
	if isNull(n) && v.Kind() != reflect.Struct { // a struct's fields may be required: null is not one
		v.SetZero()
		return nil
	}
	switch v.Kind() {
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		if err := d.decode(n, p.Elem(), path, depth); err != nil {
			return err
		}
		v.Set(p)
		return nil
	case reflect.Struct:
		return d.decodeStruct(n, v, path, depth)
	case reflect.Slice:
		return d.decodeSlice(n, v, path, depth)
	case reflect.Map:
		return d.decodeMap(n, v, path, depth)
	}
	return d.decodeScalar(n, v, path)
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string, depth int) error {
	if n.Kind != yaml.MappingNode {
		return errorf(path, n.Line, "must be a mapping of fields, not %s", describeNull(n))
	}
	fs := d.fieldsOf(v.Type())
	seen := make([]bool, len(fs))
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, err := d.visit(n.Content[i], path, depth+1)
		if err != nil {
			return err
		}
		name := k.Value
		at := slices.IndexFunc(fs, func(f field) bool { return f.name == name })
		if k.Kind != yaml.ScalarNode || at < 0 {
			return errorf(join(path, name), k.Line, "unknown field (known: %s)", fieldNames(fs))
		}
		if seen[at] {
			return errorf(join(path, name), k.Line, "given twice")
		}
		seen[at] = true
		f := fs[at]
		fv := v.Field(f.index)
		if err := d.decode(n.Content[i+1], fv, join(path, name), depth+1); err != nil {
			return err
		}
		if err := check(f, fv, join(path, name), n.Content[i+1].Line); err != nil {
			return err
		}
	}
	for i, f := range fs {
		if f.required && (!seen[i] || v.Field(f.index).IsZero()) {
			return errorf(join(path, f.name), n.Line, "is required")
		}
	}
	return nil
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, path string, depth int) error {
	if n.Kind != yaml.SequenceNode {
		return errorf(path, n.Line, "must be a list, not %s", describe(n))
	}
	if len(n.Content) == 0 {
		v.SetZero() // [] is absent: an empty list encodes as none
		return nil
	}
	key := keyField(v.Type().Elem())
	out := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		if err := d.decode(item, out.Index(i), path+elemLabel(item, key, i), depth+1); err != nil {
			return err
		}
	}
	v.Set(out)
	return nil
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string, depth int) error {
	if n.Kind != yaml.MappingNode {
		return errorf(path, n.Line, "must be a mapping, not %s", describe(n))
	}
	if len(n.Content) == 0 {
		v.SetZero()
		return nil
	}
	out := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, err := d.visit(n.Content[i], path, depth+1)
		if err != nil {
			return err
		}
		if k.Kind != yaml.ScalarNode {
			return errorf(path, k.Line, "a key must be a string, not %s", describe(k))
		}
		kv := reflect.ValueOf(k.Value)
		if out.MapIndex(kv).IsValid() {
			return errorf(path+"["+k.Value+"]", k.Line, "given twice")
		}
		ev := reflect.New(v.Type().Elem()).Elem()
		if err := d.decode(n.Content[i+1], ev, path+"["+k.Value+"]", depth+1); err != nil {
			return err
		}
		out.SetMapIndex(kv, ev)
	}
	v.Set(out)
	return nil
}

func (d *decoder) decodeScalar(n *yaml.Node, v reflect.Value, path string) error {
	if n.Kind != yaml.ScalarNode {
		return errorf(path, n.Line, "must be a %s, not %s", kindName(v.Kind()), describe(n))
	}
	tag := n.ShortTag()
	switch v.Kind() {
	case reflect.String:
		v.SetString(n.Value) // a number or boolean where text is wanted is its text
		return nil
	case reflect.Bool:
		b, err := strconv.ParseBool(strings.ToLower(n.Value))
		if tag != "!!bool" || err != nil {
			return errorf(path, n.Line, "must be true or false, not %s", describe(n))
		}
		v.SetBool(b)
		return nil
	case reflect.Int, reflect.Int64:
		i, err := strconv.ParseInt(n.Value, 0, 64)
		if tag != "!!int" || err != nil {
			return errorf(path, n.Line, "must be an integer, not %s", describe(n))
		}
		v.SetInt(i)
		return nil
	case reflect.Float64:
		f, err := strconv.ParseFloat(n.Value, 64)
		if tag == "!!int" {
			var i int64
			i, err = strconv.ParseInt(n.Value, 0, 64)
			f = float64(i)
		}
		if (tag != "!!float" && tag != "!!int") || err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return errorf(path, n.Line, "must be a number, not %s", describe(n))
		}
		v.SetFloat(f)
		return nil
	}
	return errorf(path, n.Line, "cannot hold a %s", kindName(v.Kind()))
}

// check applies a field's oneof, min and max rules to its decoded value (each
// element's, for a list).
func check(f field, v reflect.Value, path string, line int) error {
	if v.Kind() == reflect.Slice && v.Type() != rawMessageType {
		for i := range v.Len() {
			if err := check(f, v.Index(i), path+"["+strconv.Itoa(i)+"]", line); err != nil {
				return err
			}
		}
		return nil
	}
	var text string
	var num float64
	switch v.Kind() {
	case reflect.String:
		text = v.String()
		if text == "" {
			return nil // absent: the default
		}
	case reflect.Int, reflect.Int64:
		num = float64(v.Int())
		text = strconv.FormatInt(v.Int(), 10)
	case reflect.Float64:
		num = v.Float()
		text = strconv.FormatFloat(num, 'f', -1, 64)
	default:
		return nil
	}
	if len(f.oneof) > 0 && !slices.Contains(f.oneof, text) {
		return errorf(path, line, "%q is not one of %s", text, strings.Join(f.oneof, ", "))
	}
	if f.min != nil && num < *f.min && !(f.omitempty && num == 0) {
		return errorf(path, line, "%s is less than %s", text, strconv.FormatFloat(*f.min, 'f', -1, 64))
	}
	if f.max != nil && num > *f.max {
		return errorf(path, line, "%s is more than %s", text, strconv.FormatFloat(*f.max, 'f', -1, 64))
	}
	return nil
}

// writeJSON writes n as JSON, keys in document order: a policy's
// configuration is kept as written.
func (d *decoder) writeJSON(b *bytes.Buffer, n *yaml.Node, path string, depth int) error {
	n, err := d.visit(n, path, depth)
	if err != nil {
		return err
	}
	if b.Len() > maxRawBytes {
		return errorf(path, n.Line, "larger than %d KiB", maxRawBytes>>10)
	}
	switch n.Kind {
	case yaml.MappingNode:
		b.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, err := d.visit(n.Content[i], path, depth+1)
			if err != nil {
				return err
			}
			if k.Kind != yaml.ScalarNode {
				return errorf(path, k.Line, "a key must be a string, not %s", describe(k))
			}
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, k.Value)
			b.WriteByte(':')
			if err := d.writeJSON(b, n.Content[i+1], join(path, k.Value), depth+1); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case yaml.SequenceNode:
		b.WriteByte('[')
		for i, item := range n.Content {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := d.writeJSON(b, item, path+"["+strconv.Itoa(i)+"]", depth+1); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case yaml.ScalarNode:
		return writeScalar(b, n, path)
	default:
		return errorf(path, n.Line, "is %s", describe(n))
	}
	return nil
}

// writeScalar writes a YAML scalar as the JSON value of its type.
func writeScalar(b *bytes.Buffer, n *yaml.Node, path string) error {
	switch n.ShortTag() {
	case "!!null":
		b.WriteString("null")
	case "!!bool":
		v, err := strconv.ParseBool(strings.ToLower(n.Value))
		if err != nil {
			return errorf(path, n.Line, "must be true or false, not %s", describe(n))
		}
		b.WriteString(strconv.FormatBool(v))
	case "!!int":
		v, err := strconv.ParseInt(n.Value, 0, 64)
		if err != nil {
			return errorf(path, n.Line, "%s is not a 64-bit integer", n.Value)
		}
		b.WriteString(strconv.FormatInt(v, 10))
	case "!!float":
		v, err := strconv.ParseFloat(n.Value, 64)
		if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
			return errorf(path, n.Line, "%s is not a finite number", n.Value)
		}
		out, _ := json.Marshal(v)
		b.Write(out)
	default:
		writeString(b, n.Value)
	}
	return nil
}

func writeString(b *bytes.Buffer, s string) {
	out, _ := json.Marshal(s) // a string always marshals
	b.Write(out)
}

// describeNull is describe, naming null as such.
func describeNull(n *yaml.Node) string {
	if isNull(n) {
		return "null"
	}
	return describe(n)
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// describe names what a node is, for errors: `"dai"`, a list, a mapping.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if len(n.Value) > 40 {
			return strconv.Quote(n.Value[:40] + "...")
		}
		return strconv.Quote(n.Value)
	}
	return "empty"
}

func kindName(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int64:
		return "integer"
	case reflect.Float64:
		return "number"
	}
	return k.String()
}

func fieldNames(fs []field) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.name
	}
	return strings.Join(names, ", ")
}

// join appends a field name to a path.
func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// elemLabel is how a path names a list's element: by its key when it has
// one ([basic]), else by position ([0]).
func elemLabel(n *yaml.Node, key string, i int) string {
	if key != "" && n.Kind == yaml.MappingNode {
		for j := 0; j+1 < len(n.Content); j += 2 {
			if n.Content[j].Value == key && n.Content[j+1].Kind == yaml.ScalarNode && n.Content[j+1].Value != "" {
				return "[" + n.Content[j+1].Value + "]"
			}
		}
	}
	return "[" + strconv.Itoa(i) + "]"
}
