package client

import (
	"errors"
	"net/http"
)

// ErrUnknownInstance is home's answer for an instance it does not know: it
// restarted, or removed the instance after it stayed critical too long.
// Register again.
var ErrUnknownInstance = errors.New("home does not know this instance")

// ErrUnauthorized matches (errors.Is) a *StatusError of 401 or 403: home
// answered, and refused the credential (wrong, expired or revoked). It is a
// refusal, not an outage: retrying with the same credential cannot help.
// StatusCode gives the status; Refused tells it apart in one call.
var ErrUnauthorized = errors.New("home refused the credential")

// Refused reports whether home answered err's call with 401 or 403, and
// which: the caller's credential was refused, home is not unreachable.
func Refused(err error) (code int, ok bool) {
	if !errors.Is(err, ErrUnauthorized) {
		return 0, false
	}
	return StatusCode(err), true
}

// ErrIDTaken matches (errors.Is) Register's error when home answered 409:
// the instance id is live at home, registered through another join token.
// It is no refusal of the token, which registers under any other id: the
// agent draws a new id and registers again.
var ErrIDTaken = errors.New("home holds this instance id for another join token")

// ErrUnreachable matches (errors.Is) an error of a call that got no answer
// from home: a refused connection, a timeout, a cancelled context, a broken
// reply. Retrying later may help. The error's text is the transport's own.
var ErrUnreachable = errors.New("home is unreachable")

// StatusError is an answer of home other than the one expected.
type StatusError struct {
	Method string // of the request
	Path   string // of the request, without its query
	Code   int    // the status code
	Status string // the status line: "503 Service Unavailable"
	Body   string // the start of the body, trimmed: home's {"error":"..."}
}

func (e *StatusError) Error() string {
	if e.Body == "" {
		return "home answered " + e.Status
	}
	return "home answered " + e.Status + ": " + e.Body
}

// Is makes a 401 or 403 match ErrUnauthorized.
func (e *StatusError) Is(target error) bool {
	return target == ErrUnauthorized && (e.Code == http.StatusUnauthorized || e.Code == http.StatusForbidden)
}

// StatusCode is the status of home's answer behind err: 0 when home did not
// answer, or answered as expected and the failure came after.
func StatusCode(err error) int {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

// DecodeError is an answer that is not what the call reads: HTML from a
// proxy, a truncated document.
type DecodeError struct {
	What string // "reply", "home's map"
	Err  error
}

func (e *DecodeError) Error() string { return "decode " + e.What + ": " + e.Err.Error() }
func (e *DecodeError) Unwrap() error { return e.Err }

// UnreachableError is a call that got no answer from home. It keeps the
// transport's error and its text, and matches ErrUnreachable.
type UnreachableError struct {
	// Home is home's address, any password masked; "" when the answer
	// broke off after it began.
	Home string
	Err  error
}

func unreachable(home string, err error) error { return &UnreachableError{Home: home, Err: err} }

func (e *UnreachableError) Error() string   { return e.Err.Error() }
func (e *UnreachableError) Unwrap() []error { return []error{ErrUnreachable, e.Err} }
