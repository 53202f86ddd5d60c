package swagger

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// The document is kept as a generic JSON tree whose values are nil, bool,
// json.Number, string, []any or *object. Objects keep their keys in document
// order, so a filtered spec reads like the original.

const (
	// maxDepth bounds the nesting of a document.
	maxDepth = 256
	// maxNodes bounds the values a document expands to, YAML aliases and
	// merge keys included (a "billion laughs" document stops here, as does
	// one that fans merges out over empty mappings).
	maxNodes = 2 << 20
	// maxText bounds the bytes of keys and scalars a YAML document expands
	// to, aliases and merge keys included: an alias of a long scalar is one
	// value but repeats all its text in the JSON kept and served
	// (TestParseBoundsTextExpandedThroughAliases). A document without
	// aliases holds no more text than its own size, which MaxSpecSize
	// bounds already.
	maxText = MaxSpecSize
)

// object is a JSON object that keeps its keys in document order.
type object struct {
	keys []string
	vals map[string]any
}

func newObject(n int) *object {
	return &object{keys: make([]string, 0, n), vals: make(map[string]any, n)}
}

func (o *object) get(k string) (any, bool) {
	if o == nil {
		return nil, false
	}
	v, ok := o.vals[k]
	return v, ok
}

// set stores v under k, appending k if it is new.
func (o *object) set(k string, v any) {
	if _, ok := o.vals[k]; !ok {
		o.keys = append(o.keys, k)
	}
	o.vals[k] = v
}

func (o *object) del(k string) {
	if o == nil {
		return
	}
	if _, ok := o.vals[k]; !ok {
		return
	}
	delete(o.vals, k)
	for i, key := range o.keys {
		if key == k {
			o.keys = append(o.keys[:i], o.keys[i+1:]...)
			break
		}
	}
}

// names returns the keys of o in order; nil for a nil object.
func (o *object) names() []string {
	if o == nil {
		return nil
	}
	return o.keys
}

func (o *object) len() int {
	if o == nil {
		return 0
	}
	return len(o.keys)
}

// obj returns the object under k, or nil.
func (o *object) obj(k string) *object {
	v, _ := o.get(k)
	c, _ := v.(*object)
	return c
}

// str returns the string under k, or "".
func (o *object) str(k string) string {
	v, _ := o.get(k)
	s, _ := v.(string)
	return s
}

// arr returns the array under k, or nil.
func (o *object) arr(k string) []any {
	v, _ := o.get(k)
	a, _ := v.([]any)
	return a
}

// clone copies v deeply.
func clone(v any) any {
	switch v := v.(type) {
	case *object:
		c := newObject(len(v.keys))
		for _, k := range v.keys {
			c.set(k, clone(v.vals[k]))
		}
		return c
	case []any:
		c := make([]any, len(v))
		for i, e := range v {
			c[i] = clone(e)
		}
		return c
	default:
		return v
	}
}

// decodeTree decodes a JSON or YAML document into a tree whose root is an
// object.
func decodeTree(data []byte) (*object, error) {
	var (
		v   any
		err error
	)
	if trimmed := bytes.TrimLeft(data, " \t\r\n\ufeff"); len(trimmed) > 0 && trimmed[0] == '{' {
		v, err = decodeJSON(trimmed)
	} else {
		v, err = decodeYAML(data)
	}
	if err != nil {
		return nil, err
	}
	root, ok := v.(*object)
	if !ok {
		return nil, errors.New("the document is not an object (a JSON object or YAML mapping)")
	}
	return root, nil
}

func decodeJSON(data []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	n := 0
	v, err := decodeJSONValue(d, 0, &n)
	if err != nil {
		return nil, fmt.Errorf("parse JSON (at byte %d): %w", d.InputOffset(), err)
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, fmt.Errorf("parse JSON: data after the document at byte %d", d.InputOffset())
	}
	return v, nil
}

func decodeJSONValue(d *json.Decoder, depth int, n *int) (any, error) {
	if *n++; *n > maxNodes {
		return nil, fmt.Errorf("more than %d values", maxNodes)
	}
	tok, err := d.Token()
	if err != nil {
		if err == io.EOF {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return tok, nil // nil, bool, json.Number or string
	}
	if depth >= maxDepth {
		return nil, fmt.Errorf("nested deeper than %d levels", maxDepth)
	}
	switch delim {
	case '{':
		o := newObject(4)
		for d.More() {
			kt, err := d.Token()
			if err != nil {
				return nil, err
			}
			k, _ := kt.(string)
			if _, dup := o.vals[k]; dup {
				return nil, fmt.Errorf("key %q twice in one object", k)
			}
			v, err := decodeJSONValue(d, depth+1, n)
			if err != nil {
				return nil, err
			}
			o.set(k, v)
		}
		_, err := d.Token() // '}'
		return o, err
	case '[':
		a := []any{}
		for d.More() {
			v, err := decodeJSONValue(d, depth+1, n)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		_, err := d.Token() // ']'
		return a, err
	}
	return nil, fmt.Errorf("unexpected %q", delim)
}

// encodeTree renders v as JSON, indented by indent per level ("" = compact).
func encodeTree(v any, indent string) []byte {
	return appendValue(make([]byte, 0, 4096), v, indent, 0)
}

func appendValue(b []byte, v any, indent string, level int) []byte {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...)
	case bool:
		return strconv.AppendBool(b, v)
	case json.Number:
		return append(b, v...)
	case string:
		return appendString(b, v)
	case []any:
		if len(v) == 0 {
			return append(b, "[]"...)
		}
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendNewline(b, indent, level+1)
			b = appendValue(b, e, indent, level+1)
		}
		b = appendNewline(b, indent, level)
		return append(b, ']')
	case *object:
		if len(v.keys) == 0 {
			return append(b, "{}"...)
		}
		b = append(b, '{')
		for i, k := range v.keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendNewline(b, indent, level+1)
			b = appendString(b, k)
			b = append(b, ':')
			if indent != "" {
				b = append(b, ' ')
			}
			b = appendValue(b, v.vals[k], indent, level+1)
		}
		b = appendNewline(b, indent, level)
		return append(b, '}')
	}
	panic(fmt.Sprintf("swagger: unexpected %T in a document tree", v))
}

func appendNewline(b []byte, indent string, level int) []byte {
	if indent == "" {
		return b
	}
	b = append(b, '\n')
	for range level {
		b = append(b, indent...)
	}
	return b
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. Unlike encoding/json it leaves
// <, > and & alone; invalid UTF-8 becomes U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
