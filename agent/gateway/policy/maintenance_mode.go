package policy

import (
	"encoding/json"
	"fmt"
	"regexp"

	"github.com/prometheus/client_golang/prometheus"
)

// maintenancePolicy is APIcast's "maintenance_mode" policy: "A policy which
// allows you to reject incoming requests with a specified status code and
// message. It's useful for maintenance periods or to temporarily block an
// API." It answers in the access phase, as APIcast's does, with status (503),
// message ("Service Unavailable - Maintenance", followed by a newline as
// ngx.say writes it) and message_content_type ("text/plain; charset=utf-8");
// with a condition, only the requests for which it holds.
//
// The manifest's description also speaks of "a list of Upstream URLs", but
// its schema has no such field: only what the schema has is implemented.
type maintenancePolicy struct {
	status      int
	contentType string
	body        []byte
	cond        *maintenanceCondition // nil: every request
	env         *Env

	answered prometheus.Counter
}

type maintenanceConfig struct {
	Status             *int64  `json:"status"`
	Message            *string `json:"message"`
	MessageContentType *string `json:"message_content_type"`
	Condition          *struct {
		CombineOp  string                       `json:"combine_op"`
		Operations []maintenanceOperationConfig `json:"operations"`
	} `json:"condition"`
}

type maintenanceOperationConfig struct {
	Left      *string `json:"left"`
	LeftType  string  `json:"left_type"`
	Op        string  `json:"op"`
	Right     *string `json:"right"`
	RightType string  `json:"right_type"`
}

// maintenanceCondition is APIcast's condition: operations combined with and
// or or, each comparing two values (plain or Liquid) with ==, != or matches.
type maintenanceCondition struct {
	or  bool
	ops []maintenanceOperation
}

type maintenanceOperation struct {
	left, right *Template
	op          string
	re          *regexp.Regexp // matches with a static right side, compiled once
}

func newMaintenanceMode(conf json.RawMessage, env *Env) (Policy, error) {
	var cfg maintenanceConfig
	if err := Decode(conf, &cfg); err != nil {
		return nil, err
	}
	p := &maintenancePolicy{env: env, status: 503, contentType: "text/plain; charset=utf-8",
		body:     []byte("Service Unavailable - Maintenance\n"),
		answered: env.Metrics.Policy.WithLabelValues("maintenance_mode", "answered")}
	if cfg.Status != nil {
		if *cfg.Status < 100 || *cfg.Status > 599 {
			return nil, Invalid("status", "must be an HTTP status code (100 to 599), not %d", *cfg.Status)
		}
		p.status = int(*cfg.Status)
	}
	if cfg.Message != nil {
		p.body = []byte(*cfg.Message + "\n")
	}
	if cfg.MessageContentType != nil {
		if !validHeaderValue(*cfg.MessageContentType) {
			return nil, Invalid("message_content_type", "must not hold a line break or a control character")
		}
		p.contentType = *cfg.MessageContentType
	}
	if cfg.Condition != nil {
		cond, err := compileMaintenanceCondition(cfg.Condition.CombineOp, cfg.Condition.Operations)
		if err != nil {
			return nil, err
		}
		p.cond = cond
	}
	return p, nil
}

func compileMaintenanceCondition(combine string, ops []maintenanceOperationConfig) (*maintenanceCondition, error) {
	if combine == "" {
		return nil, Invalid("condition.combine_op", "is required")
	}
	combine, err := OneOf("condition.combine_op", combine, "", "and", "or")
	if err != nil {
		return nil, err
	}
	if len(ops) == 0 {
		return nil, Invalid("condition.operations", "must list at least one operation")
	}
	cond := &maintenanceCondition{or: combine == "or"}
	for i, oc := range ops {
		at := fmt.Sprintf("condition.operations[%d].", i)
		if oc.Left == nil {
			return nil, Invalid(at+"left", "is required")
		}
		if oc.Right == nil {
			return nil, Invalid(at+"right", "is required")
		}
		if oc.Op == "" {
			return nil, Invalid(at+"op", "is required")
		}
		op, err := OneOf(at+"op", oc.Op, "", "==", "!=", "matches")
		if err != nil {
			return nil, err
		}
		o := maintenanceOperation{op: op}
		if o.left, err = compileTyped(at+"left", *oc.Left, oc.LeftType); err != nil {
			return nil, err
		}
		if o.right, err = compileTyped(at+"right", *oc.Right, oc.RightType); err != nil {
			return nil, err
		}
		if op == "matches" && o.right.IsStatic() {
			if o.re, err = regexp.Compile(o.right.Render(nil, nil)); err != nil {
				return nil, Invalid(at+"right", "not a valid regular expression: %v", err)
			}
		}
		cond.ops = append(cond.ops, o)
	}
	return cond, nil
}

// compileTyped compiles a value whose *_type field is "plain" (the default)
// or "liquid".
func compileTyped(field, value, typ string) (*Template, error) {
	typ, err := OneOf(field+"_type", typ, "plain", "plain", "liquid")
	if err != nil {
		return nil, err
	}
	return CompileTemplate(field, value, typ == "liquid")
}

func (cond *maintenanceCondition) holds(c *Context, env *Env) bool {
	for i := range cond.ops {
		if cond.ops[i].holds(c, env) == cond.or {
			return cond.or
		}
	}
	return !cond.or
}

func (o *maintenanceOperation) holds(c *Context, env *Env) bool {
	left := o.left.Render(c, env)
	switch o.op {
	case "==":
		return left == o.right.Render(c, env)
	case "!=":
		return left != o.right.Render(c, env)
	default: // matches
		re := o.re
		if re == nil {
			var err error
			if re, err = regexp.Compile(o.right.Render(c, env)); err != nil {
				return false
			}
		}
		return re.MatchString(left)
	}
}

func (p *maintenancePolicy) Name() string { return "maintenance_mode" }

// Access answers the request when maintenance applies to it.
func (p *maintenancePolicy) Access(c *Context) {
	if p.cond != nil && !p.cond.holds(c, p.env) {
		return
	}
	p.answered.Inc()
	c.Respond(p.status, p.contentType, p.body)
}
