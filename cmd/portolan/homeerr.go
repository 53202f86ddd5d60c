package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"syscall"

	"github.com/portolan/portolan/internal/pki"
	"github.com/portolan/portolan/registry/client"
)

// peer is what a command calls, named in its errors: home (--home) or a
// local agent's API (--via).
type peer struct {
	what   string // "home", "the agent"
	addr   string // "" when not known
	silent string // how it failed to answer: "is unreachable"
	flag   string // the flag that names it
	runs   string // the command that serves it
}

func homePeer(addr string) peer {
	return peer{what: "home", addr: addr, silent: "is unreachable", flag: "--home", runs: "portolan coordinator"}
}

func agentPeer(addr string) peer {
	return peer{what: "the agent", addr: addr, silent: "did not answer", flag: "--via", runs: "portolan agent"}
}

// name is what p is and where: "home at http://127.0.0.1:7070".
func (p peer) name() string {
	if p.addr == "" {
		return p.what
	}
	return p.what + " at " + p.addr
}

// callError is the one-line error of a command's call that failed: home
// refused the token, or nothing answered (and why, in a few words), instead
// of the transport's stack of wrapped errors. It still wraps err, so
// errors.Is sees client.ErrUnauthorized, client.ErrUnreachable and the
// context's errors. tokenHint, when not empty, follows a refusal: what the
// token must be. Other errors are returned as they are.
func callError(p peer, err error, tokenHint string) error {
	if errors.Is(err, context.Canceled) {
		return err // interrupted: nothing to explain
	}
	if code, ok := client.Refused(err); ok {
		msg := fmt.Sprintf("%s refused the token (HTTP %d", p.what, code)
		if reason := answerReason(err); reason != "" {
			msg += ": " + reason
		}
		msg += ")"
		if tokenHint != "" {
			msg += ": " + tokenHint
		}
		return &lineError{msg: msg, err: err}
	}
	if !noAnswer(err) {
		return err
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return &lineError{msg: p.name() + " did not answer in time (see --timeout)", err: err}
	}
	if untrusted(err) {
		return &lineError{msg: p.name() + " answered with a certificate this command does not trust: " + transportCause(err) +
			" (trust home with --ca-pin, the ca_pin the coordinator logs at start, or --ca-file with its CA: DATA_DIR/tls/ca.pem)", err: err}
	}
	msg := p.name() + " " + p.silent + ": " + transportCause(err)
	if errors.Is(err, syscall.ECONNREFUSED) {
		msg += fmt.Sprintf(" (is `%s` running there? see %s)", p.runs, p.flag)
	}
	return &lineError{msg: msg, err: err}
}

// homeError is callError for home, its address taken from err (the client
// names home in an unreachable call's error).
func homeError(err error, tokenHint string) error {
	addr := ""
	var ue *client.UnreachableError
	if errors.As(err, &ue) {
		addr = ue.Home
	}
	return callError(homePeer(addr), err, tokenHint)
}

// untrusted reports whether err is a TLS handshake that failed on the
// server's certificate: not signed by a CA trusted, not for the host name,
// or not chaining to the pinned CA. Home answered; the client refused it.
func untrusted(err error) bool {
	var (
		verify   *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
	)
	return errors.Is(err, pki.ErrPinMismatch) || errors.As(err, &verify) ||
		errors.As(err, &unknown) || errors.As(err, &hostname) || errors.As(err, &invalid)
}

// noAnswer reports whether err is a call that got no answer: registry/client's
// ErrUnreachable, or net/http's transport error.
func noAnswer(err error) bool {
	var ue *url.Error
	return errors.Is(err, client.ErrUnreachable) || errors.As(err, &ue)
}

// transportCause is the reason in a transport's error, without the method,
// URL and socket addresses the wrapping errors repeat: "connection
// refused", "no such host", a TLS verification failure.
func transportCause(err error) string {
	if errors.Is(err, syscall.ECONNREFUSED) {
		return "connection refused"
	}
	var de *net.DNSError
	if errors.As(err, &de) {
		return "cannot resolve " + de.Name + ": " + de.Err
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err.Error()
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// answerReason is home's own reason in a refusal: the "error" of its JSON
// answer, else the answer's start.
func answerReason(err error) string {
	var se *client.StatusError
	if !errors.As(err, &se) || se.Body == "" {
		return ""
	}
	var answer struct {
		Error string `json:"error"`
	}
	if json.Unmarshal([]byte(se.Body), &answer) == nil && answer.Error != "" {
		return answer.Error
	}
	if strings.ContainsAny(se.Body, "\r\n") || len(se.Body) > 200 {
		return "" // not a line: an HTML page, a stack
	}
	return se.Body
}

// lineError is an error whose text replaces the wrapped error's.
type lineError struct {
	msg string
	err error
}

func (e *lineError) Error() string { return e.msg }
func (e *lineError) Unwrap() error { return e.err }
