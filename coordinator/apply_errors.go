package coordinator

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

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
