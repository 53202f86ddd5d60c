package composition

import (
	"fmt"
	"sort"
	"strings"
)

// The errors of Portolan's own APIs about one field or several map to 3scale's
// validation answer, {"errors":{"field":["message"]}}, through FieldErrors():
// a FieldError for one field, a ValidationError for a whole entity.

// FieldError is one field found wrong on its own: a request parameter that
// does not convert to its field's type, or a value out of its range.
type FieldError struct {
	Field   string // wire name, e.g. "delta" or "billing_address[city]"
	Message string // e.g. "is not a number"
	Err     error  // the cause, if any
}

func (e *FieldError) Error() string { return e.Field + " " + e.Message }
func (e *FieldError) Unwrap() error { return e.Err }

// FieldErrors returns the single field and its message.
func (e *FieldError) FieldErrors() map[string][]string {
	return map[string][]string{e.Field: {e.Message}}
}

// ValidationError lists what is wrong with a write, field by field, the way
// 3scale reports it: {"errors":{"field":["message"]}}. The field "base" holds
// messages about the whole entity.
type ValidationError struct {
	Fields map[string][]string
}

// Add records a problem with field.
func (e *ValidationError) Add(field, msg string) {
	if e.Fields == nil {
		e.Fields = map[string][]string{}
	}
	e.Fields[field] = append(e.Fields[field], msg)
}

// Empty reports whether no problem was recorded.
func (e *ValidationError) Empty() bool { return len(e.Fields) == 0 }

// Err returns e as an error, or nil when it is empty.
func (e *ValidationError) Err() error {
	if e.Empty() {
		return nil
	}
	return e
}

// FieldErrors returns the problems by field.
func (e *ValidationError) FieldErrors() map[string][]string { return e.Fields }

func (e *ValidationError) Error() string {
	fields := make([]string, 0, len(e.Fields))
	for f := range e.Fields {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	parts := make([]string, 0, len(fields))
	for _, f := range fields {
		parts = append(parts, f+" "+strings.Join(e.Fields[f], ", "))
	}
	return "invalid: " + strings.Join(parts, "; ")
}

// Invalid returns a validation error about one field.
func Invalid(field, msg string) error {
	e := &ValidationError{}
	e.Add(field, msg)
	return e
}

// NotFoundError says an entity does not exist.
type NotFoundError struct {
	Kind Kind
	ID   int64
}

func (e *NotFoundError) Error() string { return fmt.Sprintf("%s %d not found", e.Kind, e.ID) }

// HTTPStatus maps the error to 404.
func (e *NotFoundError) HTTPStatus() int { return 404 }

// NotFound returns a NotFoundError.
func NotFound(k Kind, id int64) error { return &NotFoundError{Kind: k, ID: id} }
