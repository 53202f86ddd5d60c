package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
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
