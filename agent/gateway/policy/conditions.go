package policy

import (
	"fmt"
	"regexp"
	"sync"
)

// condition is APIcast's conditions.Condition, shared by maintenance_mode,
// rate_limit and custom_metrics: operations, each comparing a left and a
// right value (plain or Liquid) with "==", "!=" or "matches" (a regular
// expression found anywhere in left: RE2 where APIcast has PCRE), combined
// with "and" or "or". A condition with no operation holds.
type condition struct {
	ops []operation
	or  bool
}

type operation struct {
	left, right *Template
	op          string
	re          *regexp.Regexp // "matches" with a plain right: compiled once
	dynamic     *regexpCache   // "matches" with a Liquid right: compiled per value, bounded
}

// conditionConfig is a condition as the policies' schemas write it.
type conditionConfig struct {
	Operations []operationConfig `json:"operations"`
	CombineOp  string            `json:"combine_op"`
}

type operationConfig struct {
	Left      *string `json:"left"`
	LeftType  string  `json:"left_type"`
	Op        string  `json:"op"`
	Right     *string `json:"right"`
	RightType string  `json:"right_type"`
}

// conditionRules are what a policy's schema asks of its condition beyond
// the operations' own fields.
type conditionRules struct {
	combineRequired bool // combine_op has no default
	minOperations   int
}

// compileCondition checks and compiles c, at field, naming what is wrong.
func compileCondition(field string, c *conditionConfig, rules conditionRules) (*condition, error) {
	if c.CombineOp == "" && rules.combineRequired {
		return nil, Invalid(field+".combine_op", "is required")
	}
	combine, err := OneOf(field+".combine_op", c.CombineOp, "and", "and", "or")
	if err != nil {
		return nil, err
	}
	if len(c.Operations) < rules.minOperations {
		return nil, Invalid(field+".operations", "must list at least %d operation(s)", rules.minOperations)
	}
	cond := &condition{or: combine == "or"}
	for i, oc := range c.Operations {
		f := fmt.Sprintf("%s.operations[%d]", field, i)
		if oc.Left == nil {
			return nil, Invalid(f+".left", "is required")
		}
		if oc.Right == nil {
			return nil, Invalid(f+".right", "is required")
		}
		if oc.Op == "" {
			return nil, Invalid(f+".op", "is required")
		}
		var op operation
		if op.op, err = OneOf(f+".op", oc.Op, "", "==", "!=", "matches"); err != nil {
			return nil, err
		}
		if op.left, err = compileTyped(f+".left", *oc.Left, oc.LeftType); err != nil {
			return nil, err
		}
		if op.right, err = compileTyped(f+".right", *oc.Right, oc.RightType); err != nil {
			return nil, err
		}
		if op.op == "matches" {
			if op.right.IsStatic() {
				if op.re, err = regexp.Compile(op.right.Render(nil, nil)); err != nil {
					return nil, Invalid(f+".right", "not a regular expression Go's RE2 accepts: %v", err)
				}
			} else {
				op.dynamic = &regexpCache{m: map[string]*regexp.Regexp{}}
			}
		}
		cond.ops = append(cond.ops, op)
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

// renderer renders a template for a request: (*Template).Render, or one
// that knows the log phase's variables too (custom_metrics).
type renderer func(t *Template, c *Context, env *Env) string

func renderRequest(t *Template, c *Context, env *Env) string { return t.Render(c, env) }

// holds evaluates cond for c's request.
func (cond *condition) holds(c *Context, env *Env, render renderer) bool {
	if len(cond.ops) == 0 {
		return true
	}
	for i := range cond.ops {
		if cond.ops[i].holds(c, env, render) == cond.or {
			return cond.or // "or": the first true; "and": the first false
		}
	}
	return !cond.or
}

func (o *operation) holds(c *Context, env *Env, render renderer) bool {
	left := render(o.left, c, env)
	switch o.op {
	case "==":
		return left == render(o.right, c, env)
	case "!=":
		return left != render(o.right, c, env)
	}
	re := o.re
	if re == nil {
		if re = o.dynamic.get(render(o.right, c, env)); re == nil {
			return false // not a valid expression: no match
		}
	}
	return re.MatchString(left)
}

// regexpCache keeps the expressions a Liquid right side rendered to, a
// bounded number.
type regexpCache struct {
	mu sync.Mutex
	m  map[string]*regexp.Regexp
}

const maxDynamicRegexps = 256

func (c *regexpCache) get(expr string) *regexp.Regexp {
	c.mu.Lock()
	defer c.mu.Unlock()
	if re, ok := c.m[expr]; ok {
		return re
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		re = nil
	}
	if len(c.m) >= maxDynamicRegexps {
		clear(c.m)
	}
	c.m[expr] = re
	return re
}
