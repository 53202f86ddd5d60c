package policy

import (
	"fmt"
	"regexp"
	"sync"
)

// rlCondition is a limiter's condition: APIcast's conditions.Condition, its
// operations ("==", "!=", "matches", a PCRE match anywhere in left) combined
// with "and" or "or". A condition with no operation holds.
type rlCondition struct {
	ops []rlOperation
	or  bool
}

type rlOperation struct {
	left, right *Template
	op          string
	re          *regexp.Regexp // "matches" with a plain right: compiled once
	dynamic     *rlRegexpCache // "matches" with a Liquid right: compiled per value, bounded
}

type rlConditionConfig struct {
	Operations []rlOperationConfig `json:"operations"`
	CombineOp  string              `json:"combine_op"`
}

type rlOperationConfig struct {
	Left      *string `json:"left"`
	LeftType  string  `json:"left_type"`
	Op        string  `json:"op"`
	Right     *string `json:"right"`
	RightType string  `json:"right_type"`
}

func compileRLCondition(field string, c *rlConditionConfig) (*rlCondition, error) {
	combine, err := OneOf(field+".combine_op", c.CombineOp, "and", "and", "or")
	if err != nil {
		return nil, err
	}
	cond := &rlCondition{or: combine == "or"}
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
		var op rlOperation
		if op.op, err = OneOf(f+".op", oc.Op, "", "==", "!=", "matches"); err != nil {
			return nil, err
		}
		lt, err := OneOf(f+".left_type", oc.LeftType, "plain", "plain", "liquid")
		if err != nil {
			return nil, err
		}
		rt, err := OneOf(f+".right_type", oc.RightType, "plain", "plain", "liquid")
		if err != nil {
			return nil, err
		}
		if op.left, err = CompileTemplate(f+".left", *oc.Left, lt == "liquid"); err != nil {
			return nil, err
		}
		if op.right, err = CompileTemplate(f+".right", *oc.Right, rt == "liquid"); err != nil {
			return nil, err
		}
		if op.op == "matches" {
			if op.right.IsStatic() {
				if op.re, err = regexp.Compile(op.right.Render(nil, nil)); err != nil {
					return nil, Invalid(f+".right", "not a regular expression Go's RE2 accepts: %v", err)
				}
			} else {
				op.dynamic = &rlRegexpCache{m: map[string]*regexp.Regexp{}}
			}
		}
		cond.ops = append(cond.ops, op)
	}
	return cond, nil
}

func (c *rlCondition) eval(ctx *Context, env *Env) bool {
	if len(c.ops) == 0 {
		return true
	}
	for i := range c.ops {
		if c.ops[i].eval(ctx, env) == c.or {
			return c.or // "or": the first true; "and": the first false
		}
	}
	return !c.or
}

func (o *rlOperation) eval(ctx *Context, env *Env) bool {
	left := o.left.Render(ctx, env)
	switch o.op {
	case "==":
		return left == o.right.Render(ctx, env)
	case "!=":
		return left != o.right.Render(ctx, env)
	}
	re := o.re
	if re == nil {
		re = o.dynamic.get(o.right.Render(ctx, env))
		if re == nil {
			return false // not a valid expression: no match
		}
	}
	return re.MatchString(left)
}

// rlRegexpCache keeps the expressions a Liquid right side rendered to,
// a bounded number.
type rlRegexpCache struct {
	mu sync.Mutex
	m  map[string]*regexp.Regexp
}

const rlMaxDynamicRegexps = 256

func (c *rlRegexpCache) get(expr string) *regexp.Regexp {
	c.mu.Lock()
	defer c.mu.Unlock()
	if re, ok := c.m[expr]; ok {
		return re
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		re = nil
	}
	if len(c.m) >= rlMaxDynamicRegexps {
		clear(c.m)
	}
	c.m[expr] = re
	return re
}
