package policy

import (
	"encoding/json"
	"net/textproto"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// customMetrics is APIcast's "Custom Metrics" policy. Its README: "This
// policy adds the availability to add metrics after the Upstream API
// response. The main use case for this policy is to add metrics based on
// response code status, headers or different Nginx variables"; each rule's
// metric and increment are Liquid, with "{{status}}" the response's status
// and "{{ resp.headers['increment'] }}" a response header (and
// resp.headers, req.headers beside the request's variables).
//
// In the log phase, for the application the apicast element authenticated,
// each rule whose condition holds adds its increment to its metric, through
// Env.Usage: the hits are counted as the request's own are, without a
// limit check (the response is already sent, as APIcast reports them in its
// post action). A rule whose metric the service does not have, or whose
// increment is not a positive integer, counts nothing ("skipped" event).
type customMetrics struct {
	rules   []metricsRule
	env     *Env
	counted prometheus.Counter
	skipped prometheus.Counter
}

type metricsRule struct {
	metric, increment *Template
	cond              metricsCondition
}

// metricsCondition is APIcast's condition: operations combined with
// "and" or "or".
type metricsCondition struct {
	or  bool
	ops []metricsOperation
}

type metricsOperation struct {
	left, right *Template
	op          string // "==", "!=", "matches"
	re          *regexp.Regexp
}

type customMetricsConfig struct {
	Rules []struct {
		Metric    *string `json:"metric"`
		Increment *string `json:"increment"`
		Condition *struct {
			CombineOp  string `json:"combine_op"`
			Operations []struct {
				Left      *string `json:"left"`
				LeftType  string  `json:"left_type"`
				Op        string  `json:"op"`
				Right     *string `json:"right"`
				RightType string  `json:"right_type"`
			} `json:"operations"`
		} `json:"condition"`
	} `json:"rules"`
}

func newCustomMetrics(conf json.RawMessage, env *Env) (Policy, error) {
	var c customMetricsConfig
	if err := Decode(conf, &c); err != nil {
		return nil, err
	}
	if c.Rules != nil && len(c.Rules) == 0 {
		return nil, Invalid("rules", "must have at least 1 item")
	}
	p := &customMetrics{env: env}
	if env != nil && env.Metrics != nil {
		p.counted = env.Metrics.Policy.WithLabelValues("custom_metrics", "counted")
		p.skipped = env.Metrics.Policy.WithLabelValues("custom_metrics", "skipped")
	}
	for i, r := range c.Rules {
		at := "rules[" + strconv.Itoa(i) + "]"
		switch {
		case r.Metric == nil:
			return nil, Invalid(at+".metric", "is required")
		case r.Increment == nil:
			return nil, Invalid(at+".increment", "is required")
		case r.Condition == nil:
			return nil, Invalid(at+".condition", "is required")
		}
		var rule metricsRule
		var err error
		if rule.metric, err = CompileTemplate(at+".metric", *r.Metric, true); err != nil {
			return nil, err
		}
		if rule.increment, err = CompileTemplate(at+".increment", *r.Increment, true); err != nil {
			return nil, err
		}
		combine, err := OneOf(at+".condition.combine_op", r.Condition.CombineOp, "and", "and", "or")
		if err != nil {
			return nil, err
		}
		rule.cond.or = combine == "or"
		if len(r.Condition.Operations) == 0 {
			return nil, Invalid(at+".condition.operations", "must have at least 1 item")
		}
		for j, o := range r.Condition.Operations {
			oat := at + ".condition.operations[" + strconv.Itoa(j) + "]"
			if o.Left == nil {
				return nil, Invalid(oat+".left", "is required")
			}
			if o.Right == nil {
				return nil, Invalid(oat+".right", "is required")
			}
			if o.Op == "" {
				return nil, Invalid(oat+".op", "is required")
			}
			op := metricsOperation{}
			if op.op, err = OneOf(oat+".op", o.Op, "", "==", "!=", "matches"); err != nil {
				return nil, err
			}
			if op.left, err = compileTyped(oat+".left", *o.Left, o.LeftType); err != nil {
				return nil, err
			}
			if op.right, err = compileTyped(oat+".right", *o.Right, o.RightType); err != nil {
				return nil, err
			}
			if op.op == "matches" {
				if !op.right.IsStatic() {
					return nil, Invalid(oat+".right", "a Liquid pattern for matches is not supported by the Portolan gateway: the regular expression is compiled once")
				}
				if op.re, err = regexp.Compile(op.right.parts[0].text); err != nil {
					return nil, Invalid(oat+".right", "not a regular expression the gateway can run: %v", err)
				}
			}
			rule.cond.ops = append(rule.cond.ops, op)
		}
		p.rules = append(p.rules, rule)
	}
	return p, nil
}

func (p *customMetrics) Name() string { return "custom_metrics" }

// HeaderFilter does nothing: taking part in the header filter makes the
// chain record the response's status, which {{status}} reads in the log
// phase.
func (p *customMetrics) HeaderFilter(*Context) {}

// Log counts each matching rule's increment for the request's application.
func (p *customMetrics) Log(c *Context) {
	if c.App == nil || p.env == nil || p.env.Usage == nil {
		return
	}
	now := time.Now()
	if p.env.Now != nil {
		now = p.env.Now()
	}
	for i := range p.rules {
		r := &p.rules[i]
		if !r.cond.holds(c, p.env) {
			continue
		}
		metric := p.render(r.metric, c)
		n, err := strconv.ParseInt(strings.TrimSpace(p.render(r.increment, c)), 10, 64)
		if err != nil || n <= 0 || metric == "" {
			inc(p.skipped)
			continue
		}
		if err := p.env.Usage.CountUsage(c.App.ID, metric, n, now); err != nil {
			inc(p.skipped)
			p.env.Log.Debug().Err(err).Str("metric", metric).Msg("custom_metrics: usage not counted")
			continue
		}
		inc(p.counted)
	}
}

func inc(c prometheus.Counter) {
	if c != nil {
		c.Inc()
	}
}

func (cond *metricsCondition) holds(c *Context, env *Env) bool {
	for i := range cond.ops {
		ok := cond.ops[i].eval(c, env)
		if cond.or && ok {
			return true
		}
		if !cond.or && !ok {
			return false
		}
	}
	return !cond.or
}

func (o *metricsOperation) eval(c *Context, env *Env) bool {
	left := renderResponse(o.left, c, env)
	switch o.op {
	case "matches":
		return o.re.MatchString(left)
	case "!=":
		return left != renderResponse(o.right, c, env)
	default:
		return left == renderResponse(o.right, c, env)
	}
}

func (p *customMetrics) render(t *Template, c *Context) string { return renderResponse(t, c, p.env) }

// renderResponse renders t with the variables of the log phase besides the
// request's: status, resp.headers['Name'] and req.headers['Name'].
func renderResponse(t *Template, c *Context, env *Env) string {
	if len(t.parts) == 1 && t.parts[0].path == nil {
		return t.parts[0].text
	}
	var b strings.Builder
	for _, pt := range t.parts {
		if pt.path == nil {
			b.WriteString(pt.text)
			continue
		}
		var v string
		switch {
		case pt.path[0] == "status" && len(pt.path) == 1:
			if c.Status != 0 {
				v = strconv.Itoa(c.Status)
			}
		case pt.path[0] == "resp" && len(pt.path) == 3 && pt.path[1] == "headers":
			v = strings.Join(c.W.Header().Values(textproto.CanonicalMIMEHeaderKey(pt.path[2])), ", ")
		case pt.path[0] == "req" && len(pt.path) == 3 && pt.path[1] == "headers":
			v = c.Lookup(env, []string{"headers", pt.path[2]})
		default:
			v = c.Lookup(env, pt.path)
		}
		for _, f := range pt.filters {
			v = f(v)
		}
		b.WriteString(v)
	}
	return b.String()
}
