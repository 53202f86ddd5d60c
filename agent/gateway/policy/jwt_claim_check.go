package policy

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portolan/portolan/composition"
)

// jwtClaimCheck is APIcast's jwt_claim_check: "This policy allows users to
// define new rules based on any JSON Web Token (JWT) claim, resource target
// and the method that the user is interested in blocking. [...] If the
// policy is blocking a resource and a method, this will also validate the
// JWT operations, but in case that the method resource does not match, the
// request will continue to the backend API."
//
// In the access phase, each rule whose resource (a mapping-rule pattern,
// matched from the start of the path, '$' for an exact end) and methods
// match the request evaluates its operations on the token's claims,
// combined with and/or; when they do not hold, the request is refused with
// 403 and error_message. The claims are those the apicast element verified
// (OpenID Connect services); without a token every claim is empty.
type jwtClaimCheck struct {
	rules  []claimRule
	body   []byte
	denied prometheus.Counter
	env    *Env
}

type jwtClaimCheckConfig struct {
	ErrorMessage    *string `json:"error_message"`
	ExtendedContext bool    `json:"enable_extended_context"`
	Rules           []struct {
		Operations []struct {
			Op        string `json:"op"`
			Claim     string `json:"jwt_claim"`
			ClaimType string `json:"jwt_claim_type"`
			Value     string `json:"value"`
			ValueType string `json:"value_type"`
		} `json:"operations"`
		CombineOp    string   `json:"combine_op"`
		Methods      []string `json:"methods"`
		Resource     *string  `json:"resource"`
		ResourceType string   `json:"resource_type"`
	} `json:"rules"`
}

type claimRule struct {
	or       bool
	ops      []claimOp
	methods  []string // nil: any; empty: none
	resource *Template
	pattern  *composition.Pattern // the resource's, when it is static
}

type claimOp struct {
	op          string
	left, right *Template
	re          *regexp.Regexp // matches with a static right side
}

// defaultClaimCheckMessage is APIcast's default error_message.
const defaultClaimCheckMessage = "Request blocked due to JWT claim policy"

var claimCheckMethods = []string{"ANY", "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT"}

func newJWTClaimCheck(conf json.RawMessage, env *Env) (Policy, error) {
	var cfg jwtClaimCheckConfig
	if err := Decode(conf, &cfg); err != nil {
		return nil, err
	}
	msg := defaultClaimCheckMessage
	if cfg.ErrorMessage != nil {
		msg = *cfg.ErrorMessage
	}
	p := &jwtClaimCheck{body: []byte(msg + "\n"), env: env,
		denied: env.Metrics.Policy.WithLabelValues("jwt_claim_check", "denied")}
	for i, rc := range cfg.Rules {
		field := func(f string) string { return fmt.Sprintf("rules[%d].%s", i, f) }
		var r claimRule
		combine, err := OneOf(field("combine_op"), rc.CombineOp, "and", "and", "or")
		if err != nil {
			return nil, err
		}
		r.or = combine == "or"
		if rc.Methods != nil {
			// Given, even empty: APIcast takes the list as it is
			// ("rule.methods or default"), so [] matches no method.
			r.methods = []string{}
		}
		for j, m := range rc.Methods {
			if !slices.Contains(claimCheckMethods, m) {
				return nil, Invalid(fmt.Sprintf("rules[%d].methods[%d]", i, j), "must be one of %v, not %q", claimCheckMethods, m)
			}
			if m == "ANY" {
				r.methods = nil
				break
			}
			r.methods = append(r.methods, m)
		}
		if rc.Resource == nil {
			return nil, Invalid(field("resource"), "is required")
		}
		rt, err := OneOf(field("resource_type"), rc.ResourceType, "plain", "plain", "liquid")
		if err != nil {
			return nil, err
		}
		if r.resource, err = CompileTemplate(field("resource"), *rc.Resource, rt == "liquid"); err != nil {
			return nil, err
		}
		if r.resource.IsStatic() {
			if r.pattern, err = composition.ParsePattern(r.resource.Render(nil, env)); err != nil {
				return nil, Invalid(field("resource"), "%v", err)
			}
		}
		for j, oc := range rc.Operations {
			of := func(f string) string { return fmt.Sprintf("rules[%d].operations[%d].%s", i, j, f) }
			op, err := OneOf(of("op"), oc.Op, "", "==", "!=", "matches")
			if err != nil {
				return nil, err
			}
			ct, err := OneOf(of("jwt_claim_type"), oc.ClaimType, "", "plain", "liquid")
			if err != nil {
				return nil, err
			}
			vt, err := OneOf(of("value_type"), oc.ValueType, "plain", "plain", "liquid")
			if err != nil {
				return nil, err
			}
			o := claimOp{op: op}
			// APIcast renders a plain claim name as the Liquid {{claim}}, and
			// both sides against the claims (or, with the extended context,
			// against the whole context, where the claims are jwt.*).
			claim := oc.Claim
			if ct == "plain" && cfg.ExtendedContext {
				claim = "{{jwt." + claim + "}}"
			} else if ct == "plain" {
				claim = "{{" + claim + "}}"
			}
			if o.left, err = CompileTemplate(of("jwt_claim"), claim, true); err != nil {
				return nil, err
			}
			if o.right, err = CompileTemplate(of("value"), oc.Value, vt == "liquid"); err != nil {
				return nil, err
			}
			if !cfg.ExtendedContext {
				o.left.underJWT()
				o.right.underJWT()
			}
			if op == "matches" && o.right.IsStatic() {
				if o.re, err = regexp.Compile(oc.Value); err != nil {
					return nil, Invalid(of("value"), "not a regular expression: %v", err)
				}
			}
			r.ops = append(r.ops, o)
		}
		p.rules = append(p.rules, r)
	}
	return p, nil
}

// underJWT makes t's variables claims: APIcast renders jwt_claim_check's
// templates with the token's claims as the Liquid context.
func (t *Template) underJWT() {
	for i := range t.parts {
		if t.parts[i].path != nil {
			t.parts[i].path = append([]string{"jwt"}, t.parts[i].path...)
		}
	}
}

func (p *jwtClaimCheck) Name() string { return "jwt_claim_check" }

func (p *jwtClaimCheck) Access(c *Context) {
	for i := range p.rules {
		if p.rules[i].denies(c, p.env) {
			p.denied.Inc()
			c.Respond(http.StatusForbidden, "text/plain; charset=utf-8", p.body)
			return
		}
	}
}

// denies reports whether r applies to c's request and its operations do
// not hold. A resource rendered per request that is not a valid pattern
// denies, as APIcast's error in the rule does.
func (r *claimRule) denies(c *Context, env *Env) bool {
	if r.methods != nil && !slices.Contains(r.methods, c.R.Method) {
		return false
	}
	pat := r.pattern
	if pat == nil {
		var err error
		if pat, err = composition.ParsePattern(r.resource.Render(c, env)); err != nil {
			return true
		}
	}
	if !pat.Match(c.R.URL.Path, nil) {
		return false
	}
	if r.or {
		for i := range r.ops {
			if r.ops[i].holds(c, env) {
				return false
			}
		}
		return true
	}
	for i := range r.ops {
		if !r.ops[i].holds(c, env) {
			return true
		}
	}
	return false
}

func (o *claimOp) holds(c *Context, env *Env) bool {
	left, right := o.left.Render(c, env), o.right.Render(c, env)
	switch o.op {
	case "==":
		return left == right
	case "!=":
		return left != right
	default: // matches: PCRE in APIcast, unanchored; RE2 here
		re := o.re
		if re == nil {
			var err error
			if re, err = regexp.Compile(right); err != nil {
				return false
			}
		}
		return re.MatchString(left)
	}
}
