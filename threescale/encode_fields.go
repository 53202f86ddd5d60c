package threescale

import (
	"reflect"
	"sort"
	"strings"
)

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
