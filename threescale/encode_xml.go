package threescale

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/portolan/portolan/composition"
)

// xmlRoot renders v as element name with extra members.
func (e Encoder) xmlRoot(buf *bytes.Buffer, name string, v reflect.Value, extra map[string]any) error {
	iv := derefValue(v)
	isObject := iv.IsValid() && ((iv.Kind() == reflect.Struct && iv.Type() != timeReflectType) || iv.Kind() == reflect.Map)
	if !isObject && len(extra) == 0 {
		if !iv.IsValid() {
			if !isXMLName(name) {
				return fmt.Errorf("%q is not a valid XML element name", name)
			}
			buf.WriteString("<" + name + "></" + name + ">")
			return nil
		}
		return e.writeXML(buf, name, v, wireOpts{}, 0)
	}
	ms, err := e.members(v, extra)
	if err != nil {
		return err
	}
	return e.writeXMLObject(buf, name, ms, 0)
}

func (e Encoder) writeXMLObject(buf *bytes.Buffer, name string, ms []wireMember, depth int) error {
	if !isXMLName(name) {
		return fmt.Errorf("%q is not a valid XML element name", name)
	}
	buf.WriteString("<" + name)
	for _, m := range ms {
		if !m.opts.attr {
			continue
		}
		if !isXMLName(m.name) {
			return fmt.Errorf("%q is not a valid XML attribute name", m.name)
		}
		text, ok, err := xmlWireText(m.v)
		if err != nil {
			return fmt.Errorf("%s: %w", m.name, err)
		}
		if !ok {
			return fmt.Errorf("%s: attribute must be a scalar, got %s", m.name, m.v.Type())
		}
		buf.WriteString(" " + m.name + `="`)
		escapeXML(buf, text, true)
		buf.WriteString(`"`)
	}
	buf.WriteString(">")
	for _, m := range ms {
		if m.opts.attr {
			continue
		}
		var err error
		if m.fromMap && !isXMLName(m.name) {
			err = writeXMLEntry(buf, m.name, m.v)
		} else {
			err = e.writeXML(buf, m.name, m.v, m.opts, depth+1)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", m.name, err)
		}
	}
	buf.WriteString("</" + name + ">")
	return nil
}

// writeXMLEntry renders a map entry whose key cannot be an element name as
// <entry key="...">value</entry>.
func writeXMLEntry(buf *bytes.Buffer, key string, v reflect.Value) error {
	text, ok, err := xmlWireText(v)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("map key %q is not a valid XML name and its value is not a scalar", key)
	}
	buf.WriteString(`<entry key="`)
	escapeXML(buf, key, true)
	buf.WriteString(`">`)
	escapeXML(buf, text, false)
	buf.WriteString(`</entry>`)
	return nil
}

// xmlWireText renders scalars, times and raw JSON as element text; ok is false
// for other kinds.
func xmlWireText(v reflect.Value) (string, bool, error) {
	v = derefValue(v)
	if !v.IsValid() {
		return "", true, nil
	}
	switch v.Type() {
	case timeReflectType:
		t := v.Interface().(time.Time)
		if t.IsZero() {
			return "", true, nil
		}
		return t.UTC().Format(timeLayout), true, nil
	case rawJSONType:
		if v.Len() == 0 {
			return "", true, nil
		}
		var c bytes.Buffer
		if err := json.Compact(&c, v.Bytes()); err != nil {
			return "", true, fmt.Errorf("invalid raw JSON: %w", err)
		}
		return c.String(), true, nil
	case decimalType:
		return string(v.Interface().(composition.Decimal).Canonical()), true, nil // BigDecimal#to_s, as porta's XML
	}
	if !isScalarReflectKind(v.Kind()) {
		return "", false, nil
	}
	s, err := scalarWireText(v)
	return s, true, err
}

func (e Encoder) writeXML(buf *bytes.Buffer, name string, v reflect.Value, opts wireOpts, depth int) error {
	if depth > maxEncodeDepth {
		return fmt.Errorf("nested deeper than %d levels (a cycle?)", maxEncodeDepth)
	}
	if !isXMLName(name) {
		return fmt.Errorf("%q is not a valid XML element name", name)
	}
	v = derefValue(v)
	if !v.IsValid() {
		return nil // nil pointers and interfaces are left out
	}
	text, ok, err := xmlWireText(v)
	if err != nil {
		return err
	}
	if ok {
		buf.WriteString("<" + name + ">")
		escapeXML(buf, text, false)
		buf.WriteString("</" + name + ">")
		return nil
	}
	switch v.Kind() {
	case reflect.Struct:
		ms, err := e.members(v, nil)
		if err != nil {
			return err
		}
		return e.writeXMLObject(buf, name, ms, depth)
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return fmt.Errorf("unsupported map key type %s", v.Type().Key())
		}
		ms, err := e.members(v, nil)
		if err != nil {
			return err
		}
		return e.writeXMLObject(buf, name, ms, depth)
	case reflect.Slice, reflect.Array:
		item := opts.item
		if item == "" {
			item = xmlItemName(name)
		}
		buf.WriteString("<" + name + ">")
		for i := 0; i < v.Len(); i++ {
			if err := e.writeXML(buf, item, v.Index(i), wireOpts{}, depth+1); err != nil {
				return err
			}
		}
		buf.WriteString("</" + name + ">")
		return nil
	}
	return fmt.Errorf("unsupported type %s", v.Type())
}

// xmlItemName names a slice's XML items after the slice: policies → policy,
// hosts → host; a name that is not a plain plural is kept (policy_chain).
func xmlItemName(name string) string {
	switch {
	case strings.HasSuffix(name, "ies") && len(name) > 3:
		return name[:len(name)-3] + "y"
	case strings.HasSuffix(name, "sses"), strings.HasSuffix(name, "xes"),
		strings.HasSuffix(name, "ches"), strings.HasSuffix(name, "shes"):
		return name[:len(name)-2]
	case strings.HasSuffix(name, "ss"):
		return name
	case strings.HasSuffix(name, "s") && len(name) > 1:
		return name[:len(name)-1]
	}
	return name
}

// isXMLName reports whether s can be an element or attribute name. Only
// ASCII names qualify (3scale's are), so every decoder accepts them; map keys
// outside that travel as <entry key="..."> instead.
func isXMLName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		case i > 0 && (c >= '0' && c <= '9' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}

// escapeXML writes s as XML character data. Unlike xml.EscapeText it leaves
// quotes alone in text ("can't", JSON in <policies_config>), as 3scale does;
// in attributes it escapes quotes and whitespace that parsers would
// normalise. Characters XML cannot carry become U+FFFD.
func escapeXML(buf *bytes.Buffer, s string, attr bool) {
	for i, w := 0, 0; i < len(s); i += w {
		r, size := utf8.DecodeRuneInString(s[i:])
		w = size
		switch {
		case r == '&':
			buf.WriteString("&amp;")
		case r == '<':
			buf.WriteString("&lt;")
		case r == '>':
			buf.WriteString("&gt;")
		case r == '\r':
			buf.WriteString("&#xD;")
		case attr && r == '"':
			buf.WriteString("&quot;")
		case attr && r == '\n':
			buf.WriteString("&#xA;")
		case attr && r == '\t':
			buf.WriteString("&#x9;")
		case r == utf8.RuneError && size == 1, !isXMLChar(r):
			buf.WriteRune(unicode.ReplacementChar)
		default:
			buf.WriteString(s[i : i+size])
		}
	}
}

// isXMLChar reports whether r may appear in an XML 1.0 document.
func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}
