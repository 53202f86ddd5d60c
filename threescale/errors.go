package threescale

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ErrNotFound reports a missing resource; WriteError renders it as 3scale's
// 404 body ({"status":"Not found"}). Wrap it to add context.
var ErrNotFound = errors.New("not found")

// statusError is an error with an HTTP status and a message that is safe to
// show to the client.
type statusError struct {
	status int
	msg    string
	err    error
}

// Error is the message the client sees; the cause stays reachable through
// Unwrap.
func (e *statusError) Error() string { return e.msg }

func (e *statusError) Unwrap() error   { return e.err }
func (e *statusError) HTTPStatus() int { return e.status }

// BadRequest is a 400 error whose message is shown to the client.
func BadRequest(msg string) error {
	return &statusError{status: http.StatusBadRequest, msg: msg}
}

// TooLarge is the 413 error for a request body over limit bytes.
func TooLarge(limit int64) error {
	return &statusError{status: http.StatusRequestEntityTooLarge,
		msg: fmt.Sprintf("request body exceeds %d bytes", limit)}
}

// Forbidden is a 403 error; an empty msg means 3scale's "Access denied".
func Forbidden(msg string) error {
	if msg == "" {
		msg = "Access denied"
	}
	return &statusError{status: http.StatusForbidden, msg: msg}
}

// Conflict is a 409 error whose message is shown to the client.
func Conflict(msg string) error {
	return &statusError{status: http.StatusConflict, msg: msg}
}

// unsupportedMediaTypeError is the 415 error for a body that ReadParams cannot
// read.
func unsupportedMediaTypeError(ct string) error {
	return &statusError{status: http.StatusUnsupportedMediaType,
		msg: fmt.Sprintf("unsupported Content-Type %q", ct)}
}

// fieldErrorer is what answers 422: composition.FieldError (one field) and
// composition.ValidationError (an entity), or any error that lists its
// problems by field.
type fieldErrorer interface{ FieldErrors() map[string][]string }
type httpStatuser interface{ HTTPStatus() int }

// StatusOf is the HTTP status WriteError uses for err, so callers can log
// server errors (whose detail WriteError does not send).
func StatusOf(err error) int {
	status, _ := classifyError(err)
	return status
}

// classifyError returns the status for err and, for 4xx errors, the message the
// client sees.
func classifyError(err error) (int, string) {
	if err == nil {
		return http.StatusInternalServerError, ""
	}
	var fe fieldErrorer
	if errors.As(err, &fe) {
		return http.StatusUnprocessableEntity, ""
	}
	if errors.Is(err, ErrNotFound) {
		return http.StatusNotFound, "Not found"
	}
	var hs httpStatuser
	if errors.As(err, &hs) {
		status := hs.HTTPStatus()
		if status < 400 || status > 599 {
			return http.StatusInternalServerError, ""
		}
		if status >= 500 {
			return status, ""
		}
		// The As target's own message, not the wrapping context, which may
		// hold internal detail.
		return status, hs.(error).Error()
	}
	return http.StatusInternalServerError, ""
}

// WriteError writes err as 3scale does:
//
//	422 (FieldErrors)  {"errors":{"name":["can't be blank"]}}  <errors><error>Name can't be blank</error></errors>
//	404                {"status":"Not found"}                  <error>Not found</error>
//	other 4xx          {"error":"Access denied"}               <error>Access denied</error>
//	5xx                {"error":"Internal Server Error"}        (the detail is not sent)
//
// Errors implementing HTTPStatus() int or FieldErrors() map[string][]string
// are found with errors.As, so wrapped domain errors map correctly.
func WriteError(w http.ResponseWriter, f Format, err error) {
	status, msg := classifyError(err)
	if status == http.StatusNotFound {
		// 3scale's body for every missing record, whatever the cause.
		msg = "Not found"
	}
	if status >= 500 {
		msg = http.StatusText(status)
	}
	var fe fieldErrorer
	if status == http.StatusUnprocessableEntity && errors.As(err, &fe) {
		Write(w, f, status, func(out io.Writer) error {
			return writeFieldErrors(out, f, fe.FieldErrors())
		})
		return
	}
	Write(w, f, status, func(out io.Writer) error {
		return writeErrorBody(out, f, status, msg)
	})
}

func writeErrorBody(out io.Writer, f Format, status int, msg string) error {
	var buf bytes.Buffer
	if f == XML {
		buf.WriteString(xml.Header[:len(xml.Header)-1])
		buf.WriteString("<error>")
		escapeXML(&buf, msg, false)
		buf.WriteString("</error>")
	} else {
		key := "error"
		if status == http.StatusNotFound {
			key = "status"
		}
		b, err := json.Marshal(map[string]string{key: msg})
		if err != nil {
			return fmt.Errorf("encoding error body: %w", err)
		}
		buf.Write(b)
	}
	_, err := out.Write(buf.Bytes())
	return err
}

func writeFieldErrors(out io.Writer, f Format, errs map[string][]string) error {
	var buf bytes.Buffer
	if f == XML {
		buf.WriteString(xml.Header[:len(xml.Header)-1])
		buf.WriteString("<errors>")
		for _, field := range sortedMapKeys(errs) {
			for _, m := range errs[field] {
				buf.WriteString("<error>")
				escapeXML(&buf, fullMessage(field, m), false)
				buf.WriteString("</error>")
			}
		}
		buf.WriteString("</errors>")
	} else {
		clean := make(map[string][]string, len(errs))
		for k, v := range errs {
			if v == nil {
				v = []string{}
			}
			clean[k] = v
		}
		b, err := json.Marshal(map[string]any{"errors": clean})
		if err != nil {
			return fmt.Errorf("encoding validation errors: %w", err)
		}
		buf.Write(b)
	}
	_, err := out.Write(buf.Bytes())
	return err
}

// fullMessage renders a field message like Rails' full_messages:
// ("system_name", "can't be blank") → "System name can't be blank".
func fullMessage(field, msg string) string {
	if field == "" || field == "base" {
		return msg
	}
	return humanizeField(field) + " " + msg
}

func humanizeField(field string) string {
	s := strings.TrimSuffix(field, "_id")
	if s == "" {
		s = field
	}
	s = strings.ReplaceAll(s, "_", " ")
	r, size := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[size:]
}

func sortedMapKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// badRequestf is a 400 error with a client-facing message that keeps its
// cause for errors.Is/As.
func badRequestf(cause error, format string, args ...any) error {
	return &statusError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...), err: cause}
}
