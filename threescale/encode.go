package threescale

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"time"
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
	writeEncoded(w, f, status, &buf)
}

// writeEncoded answers status with the encoded body buf.
func writeEncoded(w http.ResponseWriter, f Format, status int, buf *bytes.Buffer) {
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
