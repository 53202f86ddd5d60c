package threescale

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/portolan/portolan/composition"
)

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
	case decimalType:
		// porta's JSON has a plan's fees as floats (PlanRepresenter's to_f)
		s, err := scalarWireText(reflect.ValueOf(v.Interface().(composition.Decimal).Float64()))
		if err != nil {
			return err
		}
		if opts.asString {
			writeJSONString(buf, s)
		} else {
			buf.WriteString(s)
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
