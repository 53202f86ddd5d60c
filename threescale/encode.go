package threescale

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// timeLayout is how 3scale renders timestamps: RFC 3339, UTC, whole seconds.
const timeLayout = "2006-01-02T15:04:05Z"

// maxEncodeDepth stops a pointer cycle from recursing forever.
const maxEncodeDepth = 64

// Encoder renders entities in 3scale's JSON or XML shapes, driven by the
// entities' json and wire tags (see the package doc).
type Encoder struct {
	Format  Format
	Secrets bool // render wire:"secret" fields
}

// One writes v wrapped by name: {"service":{...}} or
// <?xml ...?><service>...</service>.
func (e Encoder) One(w io.Writer, name string, v any) error {
	return e.OneWith(w, name, v, nil)
}

// OneWith is One with extra members: a key naming one of v's fields replaces
// that field in place, other keys follow v's fields in sorted order. v may be
// a struct, a pointer to one, a map with string keys or nil (extras only).
func (e Encoder) OneWith(w io.Writer, name string, v any, extra map[string]any) error {
	var buf bytes.Buffer
	rv := reflect.ValueOf(v)
	if e.Format == XML {
		buf.WriteString(xml.Header[:len(xml.Header)-1])
		if err := e.xmlRoot(&buf, name, rv, extra); err != nil {
			return fmt.Errorf("encoding %s as XML: %w", name, err)
		}
	} else {
		buf.WriteString(`{`)
		writeJSONString(&buf, name)
		buf.WriteString(`:`)
		if err := e.jsonRoot(&buf, rv, extra); err != nil {
			return fmt.Errorf("encoding %s as JSON: %w", name, err)
		}
		buf.WriteString(`}`)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// List writes a slice the 3scale way: {"services":[{"service":{...}},...]}
// or <services><service>...</service></services>. With listName "" the JSON
// is a bare array ([{"backend_usage":{...}}]) and the XML root is
// itemName+"s". With itemName "" JSON items are not wrapped
// ({"policies_config":[{...}]}) and XML items are named by the singular of
// listName.
func (e Encoder) List(w io.Writer, listName, itemName string, items any) error {
	rv := reflect.ValueOf(items)
	for rv.IsValid() && (rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface) {
		rv = rv.Elem()
	}
	if rv.IsValid() && rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return fmt.Errorf("encoding list %s: items must be a slice, got %T", listName, items)
	}
	n := 0
	if rv.IsValid() {
		n = rv.Len()
	}
	var buf bytes.Buffer
	if e.Format == XML {
		root := listName
		if root == "" {
			root = itemName + "s"
		}
		item := itemName
		if item == "" {
			item = xmlItemName(listName)
		}
		if !isXMLName(root) || !isXMLName(item) {
			return fmt.Errorf("encoding list %q of %q: not valid XML element names", root, item)
		}
		buf.WriteString(xml.Header[:len(xml.Header)-1])
		buf.WriteString("<" + root + ">")
		for i := 0; i < n; i++ {
			if err := e.xmlRoot(&buf, item, rv.Index(i), nil); err != nil {
				return fmt.Errorf("encoding %s item %d as XML: %w", root, i, err)
			}
		}
		buf.WriteString("</" + root + ">")
	} else {
		if listName != "" {
			buf.WriteString(`{`)
			writeJSONString(&buf, listName)
			buf.WriteString(`:`)
		}
		buf.WriteString(`[`)
		for i := 0; i < n; i++ {
			if i > 0 {
				buf.WriteString(`,`)
			}
			if itemName != "" {
				buf.WriteString(`{`)
				writeJSONString(&buf, itemName)
				buf.WriteString(`:`)
			}
			if err := e.jsonRoot(&buf, rv.Index(i), nil); err != nil {
				return fmt.Errorf("encoding %s item %d as JSON: %w", listName, i, err)
			}
			if itemName != "" {
				buf.WriteString(`}`)
			}
		}
		buf.WriteString(`]`)
		if listName != "" {
			buf.WriteString(`}`)
		}
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// Write buffers fn's output, then sends it with status and f's Content-Type.
// If fn fails nothing of it is sent: the client gets a plain 500 instead of a
// truncated body.
func Write(w http.ResponseWriter, f Format, status int, fn func(io.Writer) error) {
	var buf bytes.Buffer
	if fn != nil {
		if err := fn(&buf); err != nil {
			http.Error(w, "internal error: could not encode the response", http.StatusInternalServerError)
			return
		}
	}
	h := w.Header()
	h.Set("Content-Type", f.ContentType())
	if status == http.StatusNoContent || status == http.StatusNotModified || status < 200 {
		w.WriteHeader(status)
		return
	}
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// wireMember is one key of a rendered object.
type wireMember struct {
	name    string
	v       reflect.Value
	opts    wireOpts
	fromMap bool // a map key, which in XML need not be a valid name
}

// members lists what an object renders: v's wire fields that pass the
// secret/omitempty/zero-time rules, then extra.
func (e Encoder) members(v reflect.Value, extra map[string]any) ([]wireMember, error) {
	v = derefValue(v)
	var out []wireMember
	switch {
	case !v.IsValid():
	case v.Kind() == reflect.Struct && v.Type() != timeReflectType:
		for _, f := range wireFields(v.Type()) {
			if f.opts.secret && !e.Secrets {
				continue
			}
			fv, ok := fieldByIndex(v, f.index, false)
			if !ok {
				continue
			}
			if f.opts.omitempty && isEmptyValue(fv) {
				continue
			}
			if fv.Type() == timeReflectType && fv.Interface().(time.Time).IsZero() {
				continue
			}
			out = append(out, wireMember{name: f.name, v: fv, opts: f.opts})
		}
	case v.Kind() == reflect.Map && v.Type().Key().Kind() == reflect.String:
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		for _, k := range keys {
			out = append(out, wireMember{name: k.String(), v: v.MapIndex(k), fromMap: true})
		}
	default:
		return nil, fmt.Errorf("cannot render %s as an object", v.Type())
	}
	for _, k := range sortedMapKeys(extra) {
		m := wireMember{name: k, v: reflect.ValueOf(extra[k])}
		replaced := false
		for i := range out {
			if out[i].name == k {
				out[i] = m
				replaced = true
			}
		}
		if !replaced {
			out = append(out, m)
		}
	}
	return out, nil
}

// derefValue follows pointers and interfaces; a nil one gives the invalid
// Value.
func derefValue(v reflect.Value) reflect.Value {
	for v.IsValid() && (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) {
		if v.IsNil() {
			return reflect.Value{}
		}
		v = v.Elem()
	}
	return v
}

func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Slice, reflect.Map, reflect.String, reflect.Array:
		return v.Len() == 0
	}
	if v.Type() == timeReflectType {
		return v.Interface().(time.Time).IsZero()
	}
	return v.IsZero()
}

// jsonRoot renders v as an object with extra members, or as a plain value
// when v is neither a struct nor a map and there are no extras.
func (e Encoder) jsonRoot(buf *bytes.Buffer, v reflect.Value, extra map[string]any) error {
	iv := derefValue(v)
	isObject := iv.IsValid() && ((iv.Kind() == reflect.Struct && iv.Type() != timeReflectType) || iv.Kind() == reflect.Map)
	if !isObject && len(extra) == 0 {
		return e.writeJSON(buf, v, wireOpts{}, 0)
	}
	ms, err := e.members(v, extra)
	if err != nil {
		return err
	}
	return e.writeJSONObject(buf, ms, 0)
}

func (e Encoder) writeJSONObject(buf *bytes.Buffer, ms []wireMember, depth int) error {
	buf.WriteString(`{`)
	for i, m := range ms {
		if i > 0 {
			buf.WriteString(`,`)
		}
		writeJSONString(buf, m.name)
		buf.WriteString(`:`)
		if err := e.writeJSON(buf, m.v, m.opts, depth+1); err != nil {
			return fmt.Errorf("%s: %w", m.name, err)
		}
	}
	buf.WriteString(`}`)
	return nil
}

func (e Encoder) writeJSON(buf *bytes.Buffer, v reflect.Value, opts wireOpts, depth int) error {
	if depth > maxEncodeDepth {
		return fmt.Errorf("nested deeper than %d levels (a cycle?)", maxEncodeDepth)
	}
	if !v.IsValid() {
		buf.WriteString("null")
		return nil
	}
	switch v.Type() {
	case timeReflectType:
		t := v.Interface().(time.Time)
		if t.IsZero() {
			buf.WriteString("null")
		} else {
			writeJSONString(buf, t.UTC().Format(timeLayout))
		}
		return nil
	case rawJSONType:
		if v.Len() == 0 {
			buf.WriteString("null")
			return nil
		}
		if err := json.Compact(buf, v.Bytes()); err != nil {
			return fmt.Errorf("invalid raw JSON: %w", err)
		}
		return nil
	}
	quote := func(s string) {
		if opts.asString {
			writeJSONString(buf, s)
		} else {
			buf.WriteString(s)
		}
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			buf.WriteString("null")
			return nil
		}
		return e.writeJSON(buf, v.Elem(), opts, depth+1)
	case reflect.Struct, reflect.Map:
		if v.Kind() == reflect.Map && v.Type().Key().Kind() != reflect.String {
			return fmt.Errorf("unsupported map key type %s", v.Type().Key())
		}
		ms, err := e.members(v, nil)
		if err != nil {
			return err
		}
		return e.writeJSONObject(buf, ms, depth)
	case reflect.Slice, reflect.Array:
		buf.WriteString(`[`)
		for i := 0; i < v.Len(); i++ {
			if i > 0 {
				buf.WriteString(`,`)
			}
			if err := e.writeJSON(buf, v.Index(i), wireOpts{asString: opts.asString}, depth+1); err != nil {
				return err
			}
		}
		buf.WriteString(`]`)
		return nil
	case reflect.String:
		writeJSONString(buf, v.String())
		return nil
	}
	s, err := scalarWireText(v)
	if err != nil {
		return err
	}
	quote(s)
	return nil
}

func writeJSONString(buf *bytes.Buffer, s string) {
	b, _ := json.Marshal(s) // a string always marshals
	buf.Write(b)
}

// scalarWireText renders a bool, integer or float the way 3scale does; floats
// always carry a decimal point (0.0, 10.5).
func scalarWireText(v reflect.Value) (string, error) {
	switch v.Kind() {
	case reflect.String:
		return v.String(), nil
	case reflect.Bool:
		return strconv.FormatBool(v.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(v.Uint(), 10), nil
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return "", fmt.Errorf("unsupported float value %v", f)
		}
		s := strconv.FormatFloat(f, 'f', -1, v.Type().Bits())
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s, nil
	}
	return "", fmt.Errorf("unsupported type %s", v.Type())
}

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

// wireOpts are a field's wire tag options (and json's omitempty/string).
type wireOpts struct {
	ro, secret, skip, omitempty, attr, asString bool
	item                                        string
}

func parseWireTag(tag string) wireOpts {
	var o wireOpts
	for _, opt := range strings.Split(tag, ",") {
		opt = strings.TrimSpace(opt)
		switch {
		case opt == "ro":
			o.ro = true
		case opt == "secret":
			o.secret = true
		case opt == "-":
			o.skip = true
		case opt == "omitempty":
			o.omitempty = true
		case opt == "attr":
			o.attr = true
		case opt == "string":
			o.asString = true
		case strings.HasPrefix(opt, "item="):
			o.item = strings.TrimPrefix(opt, "item=")
		}
	}
	return o
}

// wireField is a struct field on the wire.
type wireField struct {
	name  string
	index []int
	opts  wireOpts
}

// wireFields lists t's wire fields in struct order, promoting the fields of
// embedded exported structs like encoding/json (the shallowest name wins).
func wireFields(t reflect.Type) []wireField {
	type level struct {
		t     reflect.Type
		index []int
	}
	var out []wireField
	seen := map[string]bool{}
	visited := map[reflect.Type]bool{}
	current := []level{{t: t}}
	for len(current) > 0 {
		var next []level
		var found []wireField
		for _, lv := range current {
			if visited[lv.t] {
				continue
			}
			visited[lv.t] = true
			for i := 0; i < lv.t.NumField(); i++ {
				sf := lv.t.Field(i)
				index := append(append([]int(nil), lv.index...), i)
				jsonTag := sf.Tag.Get("json")
				if jsonTag == "-" {
					continue
				}
				name, jsonOpts, _ := strings.Cut(jsonTag, ",")
				opts := parseWireTag(sf.Tag.Get("wire"))
				if opts.skip {
					continue
				}
				if sf.Anonymous && name == "" {
					ft := sf.Type
					if ft.Kind() == reflect.Pointer {
						ft = ft.Elem()
					}
					// Unexported embedded structs are skipped: reflection
					// cannot read or set through them.
					if ft.Kind() == reflect.Struct && sf.IsExported() {
						next = append(next, level{t: ft, index: index})
					}
					continue
				}
				if !sf.IsExported() {
					continue
				}
				if name == "" {
					name = sf.Name
				}
				for _, o := range strings.Split(jsonOpts, ",") {
					switch o {
					case "omitempty":
						opts.omitempty = true
					case "string":
						opts.asString = true
					}
				}
				found = append(found, wireField{name: name, index: index, opts: opts})
			}
		}
		for _, f := range found {
			if !seen[f.name] {
				seen[f.name] = true
				out = append(out, f)
			}
		}
		current = next
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].index, out[j].index
		for k := 0; k < len(a) && k < len(b); k++ {
			if a[k] != b[k] {
				return a[k] < b[k]
			}
		}
		return len(a) < len(b)
	})
	return out
}

// fieldByIndex walks index from v; a nil embedded pointer is allocated when
// alloc is set, otherwise the field is reported missing.
func fieldByIndex(v reflect.Value, index []int, alloc bool) (reflect.Value, bool) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				if !alloc || !v.CanSet() {
					return reflect.Value{}, false
				}
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, true
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
