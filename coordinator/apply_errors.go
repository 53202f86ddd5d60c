package coordinator

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/manifest"
)

// documentsError is the 422 of an apply: every problem found, each naming
// the document, the entity and the field, as 3scale's validation answer
// under "documents": {"errors":{"documents":["news.yaml: document 2 ..."]}}.
type documentsError struct{ msgs []string }

func (e *documentsError) Error() string { return strings.Join(e.msgs, "\n") }

// FieldErrors makes the error a 422 for threescale.WriteError.
func (e *documentsError) FieldErrors() map[string][]string {
	return map[string][]string{"documents": e.msgs}
}

// fieldErrorer is what threescale.WriteError answers with 422.
type fieldErrorer interface{ FieldErrors() map[string][]string }

// applyError turns what refused the documents into a documentsError: the
// manifest's errors one by one, and an entity the engine refused with the
// whole message, which names it by key (a bare composition.ValidationError
// would lose that). Other errors (a store failing) pass unchanged.
func applyError(err error) error {
	var many manifest.Errors
	if errors.As(err, &many) {
		out := &documentsError{}
		for _, e := range many {
			out.msgs = append(out.msgs, e.Error())
		}
		return out
	}
	var one *manifest.Error
	var fe fieldErrorer
	if errors.As(err, &one) || errors.As(err, &fe) {
		return &documentsError{msgs: []string{err.Error()}}
	}
	return err
}

// statusError is a client error with its own status and message.
type statusError struct {
	status int
	msg    string
}

func (e *statusError) Error() string   { return e.msg }
func (e *statusError) HTTPStatus() int { return e.status }

// unsupportedType answers a body in a format apply does not read.
func unsupportedType(ct string) error {
	return &statusError{status: http.StatusUnsupportedMediaType,
		msg: fmt.Sprintf("unsupported Content-Type %q: send documents as application/json or application/yaml", ct)}
}

// importRefusal is the 422 of an import: the whole message of what refused
// the document, which names the entity (its kind and key, or its id in the
// document) and the field, as {"errors":{"composition":["import create
// services service:a: invalid: backend_version ..."]}}. The bare field
// errors would lose the entity, and a reference to an entity the document
// does not hold would answer a bare 404.
type importRefusal struct{ msg string }

func (e *importRefusal) Error() string { return e.msg }

// FieldErrors makes the error a 422 for threescale.WriteError.
func (e *importRefusal) FieldErrors() map[string][]string {
	return map[string][]string{"composition": {e.msg}}
}

// importError turns what refused an entity of an imported document (an
// error wrapped with the entity's name) into an importRefusal. A refusal of
// the whole document (its format, a cap) keeps its fields, which say it
// all; other errors (a store failing) pass unchanged.
func importError(err error) error {
	if _, whole := err.(fieldErrorer); whole {
		return err
	}
	var fe fieldErrorer
	var missing *composition.NotFoundError
	if errors.As(err, &fe) || errors.As(err, &missing) {
		return &importRefusal{msg: err.Error()}
	}
	return err
}
