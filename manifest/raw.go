package manifest

import (
	"bytes"
	"encoding/json"
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
