package policy

import (
	"encoding/json"
	"net/http"
	"strings"
)

// liquidDebugPolicy is APIcast's "liquid_context_debug" policy: "This is a
// policy intended only for debugging purposes. This policy returns the
// context available when evaluating liquid." In the content phase it answers
// the request with that context as JSON (the variables CompileTemplate
// knows, with their values for this request) instead of forwarding it. "When
// combined with the APIcast policy or the upstream one, this policy needs to
// be placed before them in the chain." As in APIcast, placed after the
// apicast element it never answers, nor after an upstream or routing policy
// (its manifest's order names routing too) that chose the request's
// upstream: their content phase forwards the request first (Chain.Serve).
// Its answer ends the content phase, where APIcast's, printed with ngx.say,
// would let an echo after it add a line.
//
// Unlike APIcast's, which dumps its whole context, secrets never appear:
// the service's secret token and backend credentials are not part of it,
// and the values of headers and query parameters that carry credentials
// (Authorization, Cookie, the proxy secret token, anything named like a key,
// token, secret or password) are masked.
type liquidDebugPolicy struct {
	env *Env
}

func newLiquidContextDebug(_ json.RawMessage, env *Env) (Policy, error) {
	return &liquidDebugPolicy{env: env}, nil
}

func (p *liquidDebugPolicy) Name() string { return "liquid_context_debug" }

// Content answers with the Liquid context.
func (p *liquidDebugPolicy) Content(c *Context) bool {
	b, err := json.MarshalIndent(c.LiquidContext(p.env), "", "  ")
	if err != nil {
		c.Respond(http.StatusInternalServerError, "text/plain; charset=utf-8", []byte("the Liquid context cannot be shown\n"))
		return true
	}
	c.Respond(http.StatusOK, "application/json", append(b, '\n'))
	return true
}

// liquidMasked replaces a secret's value.
const liquidMasked = "[masked]"

// secretName reports whether a header or parameter of that name carries a
// credential or a secret, to be masked.
func secretName(name string) bool {
	n := strings.ToLower(name)
	switch n {
	case "authorization", "proxy-authorization", "cookie", "set-cookie", "x-3scale-proxy-secret-token":
		return true
	}
	for _, part := range []string{"key", "token", "secret", "password", "passwd", "app_id", "app-id", "credential", "session"} {
		if strings.Contains(n, part) {
			return true
		}
	}
	return false
}

// isSecretName is secretName, or the name (a query parameter, or a header
// with "-" for "_") of one of the service's credentials: a service may
// call its user key "subscription", which sounds like nothing secret.
func (e *Env) isSecretName(name string) bool {
	if secretName(name) {
		return true
	}
	if e == nil {
		return false
	}
	n := strings.ReplaceAll(name, "-", "_")
	for _, c := range e.CredentialNames {
		if c != "" && strings.EqualFold(n, strings.ReplaceAll(c, "-", "_")) {
			return true
		}
	}
	return false
}
