// Package consulacl tells Consul refusing a token (its ACLs) apart from
// other Consul errors, and words the refusal as what to do: which rule the
// token's policy lacks (README, Consul ACLs) or that Consul does not know
// the token. Every Portolan component that speaks to Consul words it so.
//
// consulacl imports the Consul API client and, of Portolan, only
// internal/loopback.
package consulacl

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/hashicorp/consul/api"
)

// Consul's ACL refusals, as its acl package words them: a token it does not
// know, and a known token whose policies do not allow the request. The HTTP
// API answers either with 403; a transaction carries them in its
// operations' errors.
const (
	aclNotFound         = "ACL not found"
	aclPermissionDenied = "Permission denied"
)

// Refused returns Consul's words when err is Consul refusing the token
// (HTTP 403), and whether it is.
func Refused(err error) (string, bool) {
	var se api.StatusError
	if errors.As(err, &se) && se.Code == http.StatusForbidden {
		return strings.TrimSpace(se.Body), true
	}
	return "", false
}

// TxnRefusal reports whether a transaction operation's error is an ACL
// refusal (Consul answers the transaction 409, as for a failed
// check-and-set).
func TxnRefusal(what string) bool {
	return strings.Contains(what, aclPermissionDenied) || strings.Contains(what, aclNotFound)
}

// UnknownToken reports whether Consul's words say it does not know the
// token, rather than that the token's policy lacks a permission.
func UnknownToken(reason string) bool { return strings.Contains(reason, aclNotFound) }

// Explain words Consul's refusal of who's token (reason, its own words,
// which name the permission missing) as what to do: give the token a
// policy with rule, or, for a token Consul does not know, check it.
func Explain(who, reason, rule string) string {
	if UnknownToken(reason) {
		return fmt.Sprintf("Consul does not know %s token (%s): check --consul-token (or CONSUL_HTTP_TOKEN)", who, reason)
	}
	return fmt.Sprintf("Consul refused %s token (%s): give the token a policy with %s (README, Consul ACLs), or check --consul-token",
		who, reason, rule)
}

// Hint returns err worded by Explain when it is Consul refusing the token
// (still wrapping it), and err itself otherwise.
func Hint(err error, who, rule string) error {
	reason, ok := Refused(err)
	if !ok {
		return err
	}
	return &refusal{msg: Explain(who, reason, rule), err: err}
}

// refusal is Hint's error: Explain's words, which hold Consul's own, in
// place of the client's "Unexpected response code: 403 (…)".
type refusal struct {
	msg string
	err error
}

func (r *refusal) Error() string { return r.msg }
func (r *refusal) Unwrap() error { return r.err }
