package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
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

// decode decodes n into v (addressable) at path.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string, depth int) error {
	n, err := d.visit(n, path, depth)
	if err != nil {
		return err
	}
	if v.Type() == rawMessageType {
		var b bytes.Buffer
		if err := d.writeJSON(&b, n, &rawPath{base: path}, depth); err != nil {
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
		if err := checkNumber(n, path); err != nil {
			return err
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
		if err := checkKey(k, path); err != nil {
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
		if vn := resolved(n.Content[i+1]); f.given && isNull(vn) {
			return errorf(join(path, name), vn.Line, "is required (a null is not a value)")
		}
		fv := v.Field(f.index)
		if err := d.decode(n.Content[i+1], fv, join(path, name), depth+1); err != nil {
			return err
		}
		if err := check(f, fv, join(path, name), n.Content[i+1].Line); err != nil {
			return err
		}
	}
	for i, f := range fs {
		if f.required && (!seen[i] || v.Field(f.index).IsZero()) || f.given && !seen[i] {
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
		if err := checkKey(k, path); err != nil {
			return err
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
		if err := checkText(n, path); err != nil {
			return err
		}
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
		if err := checkNumber(n, path); err != nil {
			return err
		}
		i, err := strconv.ParseInt(n.Value, 0, 64)
		if tag == "!!int" && errors.Is(err, strconv.ErrRange) {
			return errorf(path, n.Line, "%s is out of range: an integer from %d to %d", n.Value, int64(math.MinInt64), int64(math.MaxInt64))
		}
		if tag != "!!int" || err != nil {
			return errorf(path, n.Line, "must be an integer, not %s", describe(n))
		}
		v.SetInt(i)
		return nil
	case reflect.Float64:
		if err := checkNumber(n, path); err != nil {
			return err
		}
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
	if f.isName && v.Kind() == reflect.String && len(text) > maxNameBytes {
		return errorf(path, line, "longer than %d bytes (3scale's bound for a name)", maxNameBytes)
	}
	if len(f.oneof) > 0 && !slices.Contains(f.oneof, text) {
		return errorf(path, line, "%q is not one of %s", short(text), strings.Join(f.oneof, ", "))
	}
	if f.min != nil && num < *f.min && !(f.omitempty && num == 0) {
		return errorf(path, line, "%s is less than %s", text, strconv.FormatFloat(*f.min, 'f', -1, 64))
	}
	if f.max != nil && num > *f.max {
		return errorf(path, line, "%s is more than %s", text, strconv.FormatFloat(*f.max, 'f', -1, 64))
	}
	return nil
}

// describeNull is describe, naming null as such.
func describeNull(n *yaml.Node) string {
	if isNull(n) {
		return "null"
	}
	return describe(n)
}

// resolved is the node an alias stands for, n itself when it is none.
func resolved(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
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
// one ([basic]), else (or when the key is longer than a name) by position
// ([0]).
func elemLabel(n *yaml.Node, key string, i int) string {
	if key != "" && n.Kind == yaml.MappingNode {
		for j := 0; j+1 < len(n.Content); j += 2 {
			if v := n.Content[j+1]; n.Content[j].Value == key && v.Kind == yaml.ScalarNode && v.Value != "" && len(v.Value) <= maxNameBytes {
				return "[" + n.Content[j+1].Value + "]"
			}
		}
	}
	return "[" + strconv.Itoa(i) + "]"
}
