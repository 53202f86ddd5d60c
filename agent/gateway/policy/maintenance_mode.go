package policy

import (
	"encoding/json"
	"net/url"

	"github.com/prometheus/client_golang/prometheus"
)

// maintenancePolicy is APIcast's "maintenance_mode" policy: "A policy which
// allows you to reject incoming requests with a specified status code and
// message. It's useful for maintenance periods or to temporarily block an
// API." It answers in the access phase, as APIcast's does, with status (503;
// a final one, 200 to 599, where APIcast's schema takes any integer),
// message ("Service Unavailable - Maintenance", followed by a newline as
// ngx.say writes it) and message_content_type ("text/plain; charset=utf-8");
// with a condition, only the requests for which it holds.
//
// The manifest's "It allows to select a list of Upstream URLs for which to
// enable the maintenance mode" is done, as in APIcast (THREESCALE-6552,
// 3scale/APIcast#1255), with the condition: its Liquid values may read
// {{ upstream.scheme }}, {{ upstream.host }}, {{ upstream.port }} (the
// scheme's default when the URL has none), {{ upstream.path }} and
// {{ upstream.query }} of the URL the request goes to: the one the upstream
// or routing policy before it chose (with a routing rule's replace_path,
// the URL's path joined with it, as APIcast's append_path makes it), else
// the service's.
type maintenancePolicy struct {
	status      int
	contentType string
	body        []byte
	cond        *condition // nil: every request
	env         *Env

	answered prometheus.Counter
}

type maintenanceConfig struct {
	Status             *int64           `json:"status"`
	Message            *string          `json:"message"`
	MessageContentType *string          `json:"message_content_type"`
	Condition          *conditionConfig `json:"condition"`
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
		// An informational status cannot end a response: the client would
		// get it followed by a 200.
		if *cfg.Status < 200 || *cfg.Status > 599 {
			return nil, Invalid("status", "must be a final HTTP status (200 to 599), not %d", *cfg.Status)
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
		// The schema requires combine_op and an operation at least.
		cond, err := compileCondition("condition", cfg.Condition, conditionRules{combineRequired: true, minOperations: 1})
		if err != nil {
			return nil, err
		}
		p.cond = cond
	}
	return p, nil
}

func (p *maintenancePolicy) Name() string { return "maintenance_mode" }

// Access answers the request when maintenance applies to it.
func (p *maintenancePolicy) Access(c *Context) {
	if p.cond != nil && !p.cond.holds(c, p.env, renderMaintenance) {
		return
	}
	p.answered.Inc()
	c.Respond(p.status, p.contentType, p.body)
}

// renderMaintenance renders t with the upstream variables besides the
// request's.
func renderMaintenance(t *Template, c *Context, env *Env) string {
	return t.RenderWith(c, env, lookupMaintenance)
}

func lookupMaintenance(c *Context, env *Env, path []string) string {
	if path[0] != "upstream" {
		return c.Lookup(env, path)
	}
	if len(path) != 2 {
		return ""
	}
	u := env.Upstream
	if c.Upstream != nil {
		if path[1] == "path" && c.Upstream.Path != "" {
			return c.Upstream.Path
		}
		u = c.Upstream.URL
	}
	if u == nil {
		return ""
	}
	return upstreamPart(u, path[1])
}

// upstreamPart is a part of u as APIcast's parsed upstream URL holds it.
func upstreamPart(u *url.URL, name string) string {
	switch name {
	case "scheme":
		return u.Scheme
	case "host":
		return u.Hostname()
	case "port":
		if p := u.Port(); p != "" {
			return p
		}
		if u.Scheme == "https" {
			return "443"
		}
		return "80"
	case "path":
		return u.Path
	case "query":
		return u.RawQuery
	}
	return ""
}
