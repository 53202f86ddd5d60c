package policy

import (
	"encoding/json"
	"net/textproto"
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
	cond              *condition
}

type customMetricsConfig struct {
	Rules []struct {
		Metric    *string          `json:"metric"`
		Increment *string          `json:"increment"`
		Condition *conditionConfig `json:"condition"`
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
		if rule.cond, err = compileCondition(at+".condition", r.Condition, conditionRules{minOperations: 1}); err != nil {
			return nil, err
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
		if !r.cond.holds(c, p.env, renderResponse) {
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

func (p *customMetrics) render(t *Template, c *Context) string { return renderResponse(t, c, p.env) }

// renderResponse renders t with the variables of the log phase besides the
// request's: status, resp.headers['Name'] and req.headers['Name'].
func renderResponse(t *Template, c *Context, env *Env) string {
	return t.RenderWith(c, env, lookupResponse)
}

func lookupResponse(c *Context, env *Env, path []string) string {
	switch {
	case path[0] == "status" && len(path) == 1:
		if c.Status != 0 {
			return strconv.Itoa(c.Status)
		}
		return ""
	case path[0] == "resp" && len(path) == 3 && path[1] == "headers":
		return strings.Join(c.W.Header().Values(textproto.CanonicalMIMEHeaderKey(path[2])), ", ")
	case path[0] == "req" && len(path) == 3 && path[1] == "headers":
		return c.Lookup(env, []string{"headers", path[2]})
	}
	return c.Lookup(env, path)
}
