package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// FieldError is a configuration problem, named by the field's path within
// the policy's configuration, as the coordinator's schema check names it.
type FieldError struct {
	Field   string // e.g. "rules[0].regex"; "" for the whole configuration
	Problem string
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return "configuration: " + e.Problem
	}
	return "configuration." + e.Field + ": " + e.Problem
}

// Invalid returns a FieldError.
func Invalid(field, format string, args ...any) error {
	return &FieldError{Field: field, Problem: fmt.Sprintf(format, args...)}
}

// Decode reads a policy's configuration into v (a pointer to its struct),
// naming the field of a type mismatch. Unknown fields are ignored, as
// APIcast ignores them.
func Decode(conf json.RawMessage, v any) error {
	conf = integralNumbers(conf)
	d := json.NewDecoder(bytes.NewReader(conf))
	if err := d.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return Invalid(te.Field, "must be %s, not %s", jsonKind(te.Type.Kind().String()), te.Value)
		}
		return Invalid("", "not valid JSON: %v", err)
	}
	return nil
}

// integralNumbers returns conf with every number that has no fractional
// part but is written as one (503.0, 1e3) written as the integer it is:
// JSON Schema counts it an integer (draft-07: "a number with a zero
// fractional part"), the coordinator's check takes it, and so does
// APIcast's Lua, where an integer field decoded into Go's int64 would
// refuse it. Numbers beyond 2^53, where a float64 is no longer exact, and
// configurations that are not JSON are left as they are.
func integralNumbers(conf json.RawMessage) json.RawMessage {
	if !bytes.ContainsAny(conf, ".eE") {
		return conf
	}
	d := json.NewDecoder(bytes.NewReader(conf))
	d.UseNumber()
	var doc any
	if d.Decode(&doc) != nil {
		return conf
	}
	changed := false
	var walk func(any) any
	walk = func(x any) any {
		switch x := x.(type) {
		case map[string]any:
			for k, e := range x {
				x[k] = walk(e)
			}
		case []any:
			for i, e := range x {
				x[i] = walk(e)
			}
		case json.Number:
			if _, err := x.Int64(); err == nil {
				return x
			}
			if f, err := x.Float64(); err == nil && f == math.Trunc(f) && math.Abs(f) <= 1<<53 {
				changed = true
				return json.Number(strconv.FormatInt(int64(f), 10))
			}
		}
		return x
	}
	doc = walk(doc)
	if !changed {
		return conf
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return conf
	}
	return out
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice", "array":
		return "an array"
	case "map", "struct", "ptr":
		return "an object"
	case "float32", "float64":
		return "a number"
	default:
		if strings.HasPrefix(goKind, "int") || strings.HasPrefix(goKind, "uint") {
			return "an integer"
		}
		return goKind
	}
}

// OneOf checks that v, at field, is one of allowed (an enum of the schema);
// an empty v takes def when def is not "".
func OneOf(field, v, def string, allowed ...string) (string, error) {
	if v == "" && def != "" {
		return def, nil
	}
	if !slices.Contains(allowed, v) {
		return "", Invalid(field, "must be one of %s, not %q", strings.Join(allowed, ", "), v)
	}
	return v, nil
}
