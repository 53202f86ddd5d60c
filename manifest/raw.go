package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// rawPath is where writeJSON is inside a value kept as written: the field
// holding it and the keys and positions below. It is a string only when an
// error names it, so a deep configuration of many values costs no path per
// value.
type rawPath struct {
	base   string
	labels []string
}

func (p *rawPath) String() string {
	var b strings.Builder
	b.WriteString(p.base)
	for _, l := range p.labels {
		if !strings.HasPrefix(l, "[") && b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(l)
	}
	return b.String()
}

// at places an error of visit (which had no path) at p.
func (p *rawPath) at(err error) error {
	if fe, ok := err.(*fieldError); ok && fe.path == "" {
		fe.path = p.String()
	}
	return err
}

// writeJSON writes n as JSON, keys in document order: a policy's
// configuration is kept as written. A key given twice or a merge key is
// refused, as in the rest of a document: readers of the JSON would take the
// first, the last, or merge.
func (d *decoder) writeJSON(b *bytes.Buffer, n *yaml.Node, at *rawPath, depth int) error {
	n, err := d.visit(n, "", depth)
	if err != nil {
		return at.at(err)
	}
	if b.Len() > maxRawBytes {
		return errorf(at.String(), n.Line, "larger than %d KiB", maxRawBytes>>10)
	}
	switch n.Kind {
	case yaml.MappingNode:
		b.WriteByte('{')
		var seen map[string]bool
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, err := d.visit(n.Content[i], "", depth+1)
			if err != nil {
				return at.at(err)
			}
			if k.Kind != yaml.ScalarNode {
				return errorf(at.String(), k.Line, "a key must be a string, not %s", describe(k))
			}
			at.labels = append(at.labels, short(k.Value))
			if k.ShortTag() == "!!merge" {
				return errorf(at.String(), k.Line, "a merge key (<<) is not read: write the fields out (or quote \"<<\" for a key of that name)")
			}
			if seen == nil {
				seen = make(map[string]bool, len(n.Content)/2)
			}
			if seen[k.Value] {
				return errorf(at.String(), k.Line, "given twice")
			}
			seen[k.Value] = true
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, k.Value)
			b.WriteByte(':')
			if err := d.writeJSON(b, n.Content[i+1], at, depth+1); err != nil {
				return err
			}
			at.labels = at.labels[:len(at.labels)-1]
		}
		b.WriteByte('}')
	case yaml.SequenceNode:
		b.WriteByte('[')
		for i, item := range n.Content {
			if i > 0 {
				b.WriteByte(',')
			}
			at.labels = append(at.labels, "["+strconv.Itoa(i)+"]")
			if err := d.writeJSON(b, item, at, depth+1); err != nil {
				return err
			}
			at.labels = at.labels[:len(at.labels)-1]
		}
		b.WriteByte(']')
	case yaml.ScalarNode:
		return writeScalar(b, n, at)
	default:
		return errorf(at.String(), n.Line, "is %s", describe(n))
	}
	return nil
}

// writeScalar writes a YAML scalar as the JSON value of its type.
func writeScalar(b *bytes.Buffer, n *yaml.Node, at *rawPath) error {
	switch n.ShortTag() {
	case "!!null":
		b.WriteString("null")
	case "!!bool":
		v, err := strconv.ParseBool(strings.ToLower(n.Value))
		if err != nil {
			return errorf(at.String(), n.Line, "must be true or false, not %s", describe(n))
		}
		b.WriteString(strconv.FormatBool(v))
	case "!!int":
		if err := checkNumber(n, ""); err != nil {
			return at.at(err)
		}
		v, err := strconv.ParseInt(n.Value, 0, 64)
		if err != nil {
			return errorf(at.String(), n.Line, "%s is not a 64-bit integer", short(n.Value))
		}
		b.WriteString(strconv.FormatInt(v, 10))
	case "!!float":
		if err := checkNumber(n, ""); err != nil {
			return at.at(err)
		}
		v, err := strconv.ParseFloat(n.Value, 64)
		if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
			return errorf(at.String(), n.Line, "%s is not a finite number", short(n.Value))
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

// canonicalJSON rewrites a JSON value as writeJSON writes a document's:
// compact, keys in their order, numbers as written, strings in UTF-8. A
// 3scale client may have escaped a character outside the BMP as a
// surrogate pair ("\ud83d\ude00", as Python's and Ruby's JSON do), which
// YAML has no escape for: written so, an export could not be written as
// YAML at all. A lone surrogate is U+FFFD, as JSON readers take it.
func canonicalJSON(raw []byte) ([]byte, error) {
	if !json.Valid(raw) {
		return nil, errors.New("not a JSON value")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	type frame struct {
		object bool
		n      int // tokens inside so far
	}
	var stack []frame
	var b bytes.Buffer
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return b.Bytes(), nil
		}
		if err != nil {
			return nil, err
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			b.WriteByte(byte(d))
			continue
		}
		if len(stack) > 0 {
			f := &stack[len(stack)-1]
			switch {
			case f.n == 0:
			case f.object && f.n%2 == 1:
				b.WriteByte(':')
			default:
				b.WriteByte(',')
			}
			f.n++
		}
		switch v := tok.(type) {
		case json.Delim:
			b.WriteByte(byte(v))
			stack = append(stack, frame{object: v == '{'})
		case string:
			writeString(&b, v)
		case json.Number:
			b.WriteString(v.String())
		case bool:
			b.WriteString(strconv.FormatBool(v))
		case nil:
			b.WriteString("null")
		}
	}
}

// sameJSON reports whether two JSON values mean the same: objects with the
// same keys (in any order) and values, arrays of the same elements, the
// same strings (however escaped), numbers of the same value (1, 1.0 and
// 1e0 alike).
func sameJSON(a, b []byte) bool {
	va, err := decodeJSONValue(a)
	if err != nil {
		return false
	}
	vb, err := decodeJSONValue(b)
	if err != nil {
		return false
	}
	return sameValue(va, vb)
}

func decodeJSONValue(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

func sameValue(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !sameValue(xv, yv) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameValue(x[i], y[i]) {
				return false
			}
		}
		return true
	case json.Number:
		y, ok := b.(json.Number)
		return ok && numberKey(x.String()) == numberKey(y.String())
	}
	return a == b // strings, booleans, null
}

// numberKey is a JSON number's value as one text per value: its sign, its
// significant digits and the power of ten after them ("1.50e1" and "15"
// are both "15e0"), computed on the text, so a number of any size or
// exponent costs its length.
func numberKey(s string) string {
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	mantissa, exp, hasExp := strings.Cut(strings.ToLower(s), "e")
	e := int64(0)
	if hasExp {
		var err error
		if e, err = strconv.ParseInt(exp, 10, 64); err != nil || e > math.MaxInt32 || e < math.MinInt32 {
			return sign + s // beyond any reader's numbers: the same only as written
		}
	}
	whole, frac, _ := strings.Cut(mantissa, ".")
	digits := strings.TrimLeft(whole+frac, "0")
	e -= int64(len(frac))
	for strings.HasSuffix(digits, "0") {
		digits = digits[:len(digits)-1]
		e++
	}
	if digits == "" {
		return "0" // -0 is 0
	}
	return sign + digits + "e" + strconv.FormatInt(e, 10)
}
