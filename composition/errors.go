package composition

import (
	"fmt"
	"sort"
	"strings"
)

// ValidationError lists what is wrong with a write, field by field, the way
// 3scale reports it: {"errors":{"field":["message"]}}.
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
