package threescale

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/portolan/portolan/composition"
)

var (
	timeReflectType = reflect.TypeFor[time.Time]()
	rawJSONType     = reflect.TypeFor[json.RawMessage]()
	decimalType     = reflect.TypeFor[composition.Decimal]()
)

// Bind sets the exported fields of the struct pointed to by dst from p, by
// their json tag names. Fields tagged wire:"ro" or wire:"-" and time.Time
// fields are never set; fields whose key is absent are left alone, so Bind
// serves both create (on a zero struct) and update (on the stored entity).
// A JSON null sets the zero value.
//
// Conversions: int kinds base 10, bool as porta takes it (parseBool), float64,
// []T from "k[]" or repeated "k" (or a JSON array), map[string]string from
// "k[sub]" keys (or a JSON object), json.RawMessage from the raw JSON or a
// string holding JSON, nested structs from "k[field]" keys or a JSON object
// (recursively, honouring ro), other kinds (slices of structs, interfaces)
// from JSON. A value that does not convert is a *composition.FieldError.
//
// create is informational: required fields are the domain's to check.
func Bind(p *Params, dst any, create bool) error {
	_ = create
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("threescale.Bind: destination must be a non-nil pointer to a struct, got %T", dst)
	}
	if p == nil {
		p = &Params{}
	}
	return bindStructFields(p, rv.Elem(), "")
}

func bindStructFields(p *Params, sv reflect.Value, prefix string) error {
	for _, f := range wireFields(sv.Type()) {
		if f.opts.ro {
			continue
		}
		if !p.Has(f.name) && !p.hasPrefix(f.name+"[") {
			continue
		}
		fv, ok := fieldByIndex(sv, f.index, true)
		if !ok || !fv.CanSet() {
			continue
		}
		path := f.name
		if prefix != "" {
			path = prefix + "[" + f.name + "]"
		}
		if err := bindFieldValue(p, f.name, fv, path); err != nil {
			return err
		}
	}
	return nil
}

func newFieldError(path, msg string, err error) error {
	return &composition.FieldError{Field: path, Message: msg, Err: err}
}

func bindFieldValue(p *Params, key string, fv reflect.Value, path string) error {
	raw, hasRaw := p.Raw(key)
	if hasRaw && jsonValueKind(raw) == 'n' {
		fv.SetZero()
		return nil
	}
	t := fv.Type()
	switch {
	case t == timeReflectType:
		return nil
	case t == rawJSONType:
		if hasRaw {
			fv.SetBytes(bytes.Clone(raw))
			return nil
		}
		if s, ok := p.Get(key); ok {
			if !json.Valid([]byte(s)) {
				return newFieldError(path, "is not valid JSON", nil)
			}
			fv.SetBytes([]byte(s))
		}
		return nil
	}
	switch t.Kind() {
	case reflect.Pointer:
		if t.Elem() == timeReflectType {
			return nil
		}
		elem := reflect.New(t.Elem())
		if !fv.IsNil() {
			elem.Elem().Set(fv.Elem())
		}
		if err := bindFieldValue(p, key, elem.Elem(), path); err != nil {
			return err
		}
		fv.Set(elem)
		return nil
	case reflect.Struct:
		return bindNestedField(p, key, fv, path)
	case reflect.Slice:
		if isScalarReflectKind(t.Elem().Kind()) {
			return bindListField(p, key, fv, path)
		}
		return bindJSONField(p, key, fv, path)
	case reflect.Array:
		return bindJSONField(p, key, fv, path)
	case reflect.Map:
		if t.Key().Kind() == reflect.String && t.Elem().Kind() == reflect.String {
			return bindMapField(p, key, fv, path)
		}
		return bindJSONField(p, key, fv, path)
	case reflect.Interface:
		if !hasRaw {
			if s, ok := p.Get(key); ok && reflect.TypeOf(s).AssignableTo(t) {
				fv.Set(reflect.ValueOf(s))
			}
			return nil
		}
		return bindJSONField(p, key, fv, path)
	}
	if !isScalarReflectKind(t.Kind()) {
		return nil
	}
	if hasRaw && (jsonValueKind(raw) == '{' || jsonValueKind(raw) == '[') {
		return newFieldError(path, "is invalid", nil)
	}
	s, ok := p.Get(key)
	if !ok {
		return nil
	}
	return setScalarValue(fv, s, path)
}

func isScalarReflectKind(k reflect.Kind) bool {
	switch k {
	case reflect.String, reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

// setScalarValue converts s to fv's kind.
func setScalarValue(fv reflect.Value, s, path string) error {
	switch fv.Kind() {
	case reflect.String:
		fv.SetString(s)
	case reflect.Bool:
		b, ok := parseBool(s)
		if !ok {
			return newFieldError(path, "is not a boolean", nil)
		}
		fv.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, fv.Type().Bits())
		if err != nil {
			return intFieldError(path, s, err)
		}
		fv.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if strings.HasPrefix(s, "-") {
			return newFieldError(path, "must be greater than or equal to 0", nil)
		}
		n, err := strconv.ParseUint(s, 10, fv.Type().Bits())
		if err != nil {
			return intFieldError(path, s, err)
		}
		fv.SetUint(n)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(s, fv.Type().Bits())
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return newFieldError(path, "is not a number", err)
		}
		fv.SetFloat(f)
	default:
		return newFieldError(path, "is not supported", nil)
	}
	return nil
}

// parseBool reads a boolean parameter as porta's attributes take it
// (ActiveModel::Type::Boolean): "0", "f", "false" and "off" are false, and
// "1", "t", "true" and "on" true, in any case. Rails takes any other
// non-blank value as true; Portolan refuses it ("yes", "no", "2"), since a
// "no" read as true would be a silent surprise.
func parseBool(s string) (value, ok bool) {
	switch strings.ToLower(s) {
	case "true", "t", "1", "on":
		return true, true
	case "false", "f", "0", "off":
		return false, true
	}
	return false, false
}

func intFieldError(path, s string, err error) error {
	if errors.Is(err, strconv.ErrRange) {
		return newFieldError(path, "is out of range", err)
	}
	if _, ferr := strconv.ParseFloat(s, 64); ferr == nil {
		return newFieldError(path, "must be an integer", err)
	}
	return newFieldError(path, "is not a number", err)
}

// listParamValues returns the items of a list param: a JSON array, "key[]" values
// or repeated "key" values.
func listParamValues(p *Params, key, path string) ([]string, error) {
	raw, hasRaw := p.Raw(key)
	if !hasRaw || jsonValueKind(raw) != '[' {
		if vs, ok := p.values[key+"[]"]; ok {
			return vs, nil
		}
		return p.values[key], nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var items []any
	if err := dec.Decode(&items); err != nil {
		return nil, newFieldError(path, "is invalid", err)
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		s, ok := jsonScalarText(it)
		if !ok {
			return nil, newFieldError(path, "is invalid", nil)
		}
		out = append(out, s)
	}
	return out, nil
}

func bindListField(p *Params, key string, fv reflect.Value, path string) error {
	items, err := listParamValues(p, key, path)
	if err != nil {
		return err
	}
	out := reflect.MakeSlice(fv.Type(), len(items), len(items))
	for i, s := range items {
		if err := setScalarValue(out.Index(i), s, path); err != nil {
			return err
		}
	}
	fv.Set(out)
	return nil
}

func bindMapField(p *Params, key string, fv reflect.Value, path string) error {
	sub := p.sub(key)
	if raw, ok := p.Raw(key); ok && jsonValueKind(raw) != '{' {
		return newFieldError(path, "is invalid", nil)
	}
	if len(sub.values) == 0 && len(sub.raw) == 0 {
		// A JSON object sent as a single string param.
		if s, ok := p.Get(key); ok {
			return bindJSONBytesField([]byte(s), fv, path)
		}
		if _, ok := p.Raw(key); !ok {
			return nil
		}
	}
	m := reflect.MakeMapWithSize(fv.Type(), len(sub.values))
	for _, k := range sortedMapKeys(sub.raw) {
		if c := jsonValueKind(sub.raw[k]); c == '{' || c == '[' {
			return newFieldError(path+"["+k+"]", "is invalid", nil)
		}
	}
	for k, vs := range sub.values {
		v, ok := rackValue(vs)
		if strings.ContainsAny(k, "[]") || !ok {
			continue
		}
		ev := reflect.New(fv.Type().Elem()).Elem()
		ev.SetString(v)
		m.SetMapIndex(reflect.ValueOf(k).Convert(fv.Type().Key()), ev)
	}
	fv.Set(m)
	return nil
}

func bindNestedField(p *Params, key string, fv reflect.Value, path string) error {
	raw, hasRaw := p.Raw(key)
	if hasRaw && jsonValueKind(raw) != '{' {
		return newFieldError(path, "is invalid", nil)
	}
	sub := p.sub(key)
	if len(sub.values) == 0 && len(sub.raw) == 0 && !hasRaw {
		s, ok := p.Get(key)
		if !ok {
			return nil
		}
		// A JSON object sent as a single string param.
		obj, err := jsonObjectParams([]byte(s))
		if err != nil {
			return newFieldError(path, "is invalid", err)
		}
		sub = obj
	}
	return bindStructFields(sub, fv, path)
}

func bindJSONField(p *Params, key string, fv reflect.Value, path string) error {
	if raw, ok := p.Raw(key); ok {
		return bindJSONBytesField(raw, fv, path)
	}
	if s, ok := p.Get(key); ok {
		return bindJSONBytesField([]byte(s), fv, path)
	}
	return nil
}

func bindJSONBytesField(data []byte, fv reflect.Value, path string) error {
	ptr := reflect.New(fv.Type())
	if err := json.Unmarshal(data, ptr.Interface()); err != nil {
		return newFieldError(path, "is invalid", err)
	}
	fv.Set(ptr.Elem())
	return nil
}
