package manifest

import (
	"reflect"
	"strconv"
	"strings"
)

// field is what a struct field's tags say: its document name and the rules
// the decoder and the JSON Schema check (see types.go).
type field struct {
	name      string
	index     int
	omitempty bool
	required  bool
	given     bool // present and not null; zero is a value
	key       bool
	isName    bool // at most maxNameBytes
	oneof     []string
	min, max  *float64
}

// fields returns the document fields of struct type t, in declaration order.
// A field without a json name is not part of documents.
func fields(t reflect.Type) []field {
	var out []field
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if !sf.IsExported() || tag == "-" || tag == "" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		f := field{name: name, index: i, omitempty: strings.Contains(","+opts+",", ",omitempty,")}
		for rule := range strings.SplitSeq(sf.Tag.Get("manifest"), ",") {
			k, v, _ := strings.Cut(rule, "=")
			switch k {
			case "required":
				f.required = true
			case "given":
				f.given = true
			case "key":
				f.key, f.isName = true, true
			case "name":
				f.isName = true
			case "oneof":
				f.oneof = strings.Fields(v)
			case "min", "max":
				n, err := strconv.ParseFloat(v, 64)
				if err != nil {
					panic("manifest: bad " + k + " in tag of " + t.Name() + "." + sf.Name)
				}
				if k == "min" {
					f.min = &n
				} else {
					f.max = &n
				}
			}
		}
		out = append(out, f)
	}
	return out
}

// keyField returns the name of struct type t's key field, "" for none.
func keyField(t reflect.Type) string {
	if t.Kind() != reflect.Struct {
		return ""
	}
	for _, f := range fields(t) {
		if f.key {
			return f.name
		}
	}
	return ""
}
