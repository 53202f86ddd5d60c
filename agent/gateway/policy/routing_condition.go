package policy

import (
	"encoding/json"
	"fmt"
	"net/textproto"
	"regexp"
)

// routingCondition is a routing rule's condition, as APIcast's routing
// README defines it: "Rules can have several operations and route to the
// given upstream only when all of them evaluate to true (using the 'and'
// combine_op), or when at least one of them evaluates to true (using the
// 'or' combine_op). The default value of combine_op is 'and'." "A rule
// without operations always matches."
type routingCondition struct {
	or  bool
	ops []routingOperation
}

// routingOperation compares a request's value (its path, a header, a query
// argument, a JWT claim or a Liquid value) with value: "The supported
// operations are ==, !=, and matches. The latter matches a string with a
// regular expression" (ngx.re.match: unanchored, as Go's MatchString).
type routingOperation struct {
	match string // path, header, query_arg, jwt_claim, liquid
	name  string // the header (canonical), query argument or claim
	left  *Template
	op    string
	right *Template
	re    *regexp.Regexp // matches with a plain value, compiled once
}

type routingConditionConfig struct {
	CombineOp  string `json:"combine_op"`
	Operations []struct {
		Match        *string `json:"match"`
		Op           *string `json:"op"`
		Value        *string `json:"value"`
		ValueType    string  `json:"value_type"`
		HeaderName   *string `json:"header_name"`
		QueryArgName *string `json:"query_arg_name"`
		JWTClaimName *string `json:"jwt_claim_name"`
		LiquidValue  *string `json:"liquid_value"`
	} `json:"operations"`
}

func newRoutingCondition(field string, raw json.RawMessage) (routingCondition, error) {
	var rc routingCondition
	if len(raw) == 0 || string(raw) == "null" {
		return rc, nil
	}
	var cfg routingConditionConfig
	if err := Decode(raw, &cfg); err != nil {
		fe := err.(*FieldError)
		return rc, Invalid(field+"."+fe.Field, "%s", fe.Problem)
	}
	combine, err := OneOf(field+".combine_op", cfg.CombineOp, "and", "and", "or")
	if err != nil {
		return rc, err
	}
	rc.or = combine == "or"
	for i, o := range cfg.Operations {
		f := fmt.Sprintf("%s.operations[%d]", field, i)
		for _, req := range []struct {
			name string
			v    *string
		}{{"match", o.Match}, {"op", o.Op}, {"value", o.Value}} {
			if req.v == nil {
				return rc, Invalid(f+"."+req.name, "is required")
			}
		}
		var op routingOperation
		if op.match, err = OneOf(f+".match", *o.Match, "", "path", "header", "query_arg", "jwt_claim", "liquid"); err != nil {
			return rc, err
		}
		if op.op, err = OneOf(f+".op", *o.Op, "", "==", "!=", "matches"); err != nil {
			return rc, err
		}
		vt, err := OneOf(f+".value_type", o.ValueType, "plain", "plain", "liquid")
		if err != nil {
			return rc, err
		}
		need := func(name string, v *string) (string, error) {
			if v == nil {
				return "", Invalid(f+"."+name, "is required when match is %q", op.match)
			}
			return *v, nil
		}
		switch op.match {
		case "header":
			h, err := need("header_name", o.HeaderName)
			if err != nil {
				return rc, err
			}
			op.name = textproto.CanonicalMIMEHeaderKey(h)
		case "query_arg":
			if op.name, err = need("query_arg_name", o.QueryArgName); err != nil {
				return rc, err
			}
		case "jwt_claim":
			if op.name, err = need("jwt_claim_name", o.JWTClaimName); err != nil {
				return rc, err
			}
		case "liquid":
			lv, err := need("liquid_value", o.LiquidValue)
			if err != nil {
				return rc, err
			}
			if op.left, err = CompileTemplate(f+".liquid_value", lv, true); err != nil {
				return rc, err
			}
		}
		if op.right, err = CompileTemplate(f+".value", *o.Value, vt == "liquid"); err != nil {
			return rc, err
		}
		if op.op == "matches" && op.right.IsStatic() {
			if op.re, err = compileRegex(f+".value", *o.Value, ""); err != nil {
				return rc, err
			}
		}
		rc.ops = append(rc.ops, op)
	}
	return rc, nil
}

// eval reports whether the condition holds for c's request.
func (rc *routingCondition) eval(c *Context, env *Env) bool {
	if len(rc.ops) == 0 {
		return true
	}
	for i := range rc.ops {
		ok := rc.ops[i].eval(c, env)
		if ok && rc.or {
			return true
		}
		if !ok && !rc.or {
			return false
		}
	}
	return !rc.or
}

func (op *routingOperation) eval(c *Context, env *Env) bool {
	var left string
	switch op.match {
	case "path":
		left = c.R.URL.Path
	case "header":
		if vv := requestHeader(c.R, op.name); len(vv) > 0 {
			left = vv[0]
		}
	case "query_arg":
		left = queryArg(c.R.URL.RawQuery, op.name)
	case "jwt_claim":
		if c.JWT != nil {
			left = Stringify(c.JWT[op.name])
		}
	case "liquid":
		left = op.left.Render(c, env)
	}
	switch op.op {
	case "==":
		return left == op.right.Render(c, env)
	case "!=":
		return left != op.right.Render(c, env)
	default: // matches
		if op.re != nil {
			return op.re.MatchString(left)
		}
		re, err := regexp.Compile(op.right.Render(c, env))
		return err == nil && re.MatchString(left)
	}
}
