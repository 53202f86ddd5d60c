package policy

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// routing is APIcast's routing policy. Its manifest: "This policy allows to
// modify the upstream URL (scheme, host and port) of the request based on
// its path, its query arguments, a header, or a JWT claim. When combined
// with the APIcast policy, the routing policy should be placed before it in
// the policy chain." Its README: "When there are several of them, the
// upstream selected is the one of the first rule that evaluates to true";
// "By default, when a request is routed, the policy sets the Host header
// using the host of the URL of the rule that matched. However, it is
// possible to specify a different host with the host_header attribute."
// No rule matching leaves the request to the service's upstream.
//
// As APIcast's routing.lua ("All route definition needs to happen in the
// access phase to make sure that the mapping rule with the owner_id happens
// before the APIcast policy"), the rule is chosen in the access phase: after
// the apicast element's rewrite phase verified an OpenID Connect token, so
// jwt_claim operations (and {{ jwt.* }} values) see its claims with the
// policy placed before apicast, as the manifest asks.
// replace_path ("Liquid filter to modify the request path to the matched
// Upstream URL. When no specified, keep the original path") is rendered
// when the rule is chosen, and is the path sent to the rule's upstream ("/"
// to any other, as APIcast's set_uri leaves it: Content); the mapping rules
// match the request's own path. owner_id
// ("Value to only increment hits on the mapping rules owner by the same
// id") rides on the chosen upstream to the apicast element's access phase,
// which counts only that backend API's rules and the product's
// (composition.MatchOwned).
//
// As routing.lua's content phase calls the chosen upstream ("if
// context.route_upstream then context.route_upstream:call(context)"), the
// content policies after a routing policy that chose one (echo,
// liquid_context_debug) never run; with no rule holding they do. That
// upstream is shared: a routing policy whose rules do not hold sets it to
// none, and a later routing or upstream policy's choice is the one an
// earlier routing policy's content forwards to. Placed
// after the apicast element, against the manifest, its choice is not used:
// that element's content phase forwards to the service's upstream first
// (Chain.Serve).
type routing struct {
	rules  []routingRule
	env    *Env
	routed prometheus.Counter
}

type routingRule struct {
	cond routingCondition
	// up keeps the URL's path, which prefixes the request's; upHost has
	// none, for a rule whose replace_path gives the whole path.
	up, upHost  *Upstream
	urlPath     string
	replacePath *Template
}

type routingConfig struct {
	Rules []struct {
		URL         *string         `json:"url"`
		HostHeader  string          `json:"host_header"`
		OwnerID     *int64          `json:"owner_id"`
		OwnerType   *string         `json:"owner_type"` // accepted, not read: APIcast matches the owner by id alone
		ReplacePath *string         `json:"replace_path"`
		Condition   json.RawMessage `json:"condition"`
	} `json:"rules"`
}

// routingState is the upstream a request's rule with replace_path chose,
// the rendered path its Target.
type routingState struct {
	up Upstream
}

func newRouting(conf json.RawMessage, env *Env) (Policy, error) {
	var cfg routingConfig
	if err := Decode(conf, &cfg); err != nil {
		return nil, err
	}
	p := &routing{env: env, routed: routeCounter(env, "routing", "routed")}
	for i, r := range cfg.Rules {
		field := fmt.Sprintf("rules[%d]", i)
		if r.URL == nil {
			return nil, Invalid(field+".url", "is required")
		}
		u, err := ParseUpstreamURL(field+".url", *r.URL)
		if err != nil {
			return nil, err
		}
		host := r.HostHeader
		if host == "" {
			host = HostHeader(u)
		}
		var owner int64
		if r.OwnerID != nil {
			owner = *r.OwnerID
		}
		rule := routingRule{up: &Upstream{URL: u, Host: host, OwnerID: owner}, urlPath: u.Path}
		rule.upHost = &Upstream{URL: &url.URL{Scheme: u.Scheme, Host: u.Host, RawQuery: u.RawQuery}, Host: host, OwnerID: owner}
		if r.ReplacePath != nil {
			if rule.replacePath, err = CompileTemplate(field+".replace_path", *r.ReplacePath, true); err != nil {
				return nil, err
			}
		}
		if rule.cond, err = newRoutingCondition(field+".condition", r.Condition); err != nil {
			return nil, err
		}
		p.rules = append(p.rules, rule)
	}
	return p, nil
}

func (p *routing) Name() string { return "routing" }

// Access chooses the upstream of the first rule whose condition holds; with
// none, the request has no chosen upstream, whatever a policy before chose
// (routing.lua: "context.route_upstream = self.upstream_selector:select(...)",
// nil when no rule holds).
func (p *routing) Access(c *Context) {
	for i := range p.rules {
		rule := &p.rules[i]
		if !rule.cond.eval(c, p.env) {
			continue
		}
		p.routed.Inc()
		if rule.replacePath == nil {
			c.Upstream = rule.up
			return
		}
		st := c.State(func() any { return &routingState{} }).(*routingState)
		// The path becomes the URL's path joined with the rendered one.
		target := rule.replacePath.Render(c, p.env)
		if rule.urlPath != "" && rule.urlPath != "/" {
			target = JoinPath(rule.urlPath, target)
		}
		st.up = *rule.upHost
		st.up.Target = target
		st.up.Path, _, _ = strings.Cut(target, "?")
		if st.up.Path == "" {
			st.up.Path = "/"
		}
		c.Upstream = &st.up
		return
	}
	c.Upstream = nil
}

// Content applies a chosen rule's replace_path on the way to the upstream:
// its rendered path when the request goes to that rule's upstream
// (upstream_selector.lua: "upstream:append_path(...)"), else "/"
// (its "ngx.req.set_uri("/")"): the upstream another policy chose since,
// an upstream policy's own, or the service's gets "/" after its URL's
// path, as in APIcast. It never answers.
//
// APIcast sets the request's path to "/" when the rule is chosen, in the
// access phase, so policies after routing read "/" there; here they read
// the client's path until the request is forwarded, so that a check on
// the path (jwt_claim_check's and keycloak_role_check's resources, a
// rate_limit condition) placed after routing still sees what the client
// asked for rather than "/".
func (p *routing) Content(c *Context) bool {
	st, ok := c.State(func() any { return nil }).(*routingState) // nil: no replace_path chosen
	if !ok {
		return false
	}
	if c.Upstream != &st.up {
		c.R.URL.Path, c.R.URL.RawPath = "/", ""
		return false
	}
	c.R.URL.Path, c.R.URL.RawPath = st.up.Path, ""
	if _, query, hasQuery := strings.Cut(st.up.Target, "?"); hasQuery {
		c.R.URL.RawQuery = query
	}
	return false
}

// queryArg is the first value of the query argument name in raw, as
// APIcast's get_uri_arg reads it, without building the whole map.
func queryArg(raw, name string) string {
	for raw != "" {
		var kv string
		kv, raw, _ = strings.Cut(raw, "&")
		k, v, _ := strings.Cut(kv, "=")
		if strings.ContainsAny(k, "%+") {
			if uk, err := url.QueryUnescape(k); err == nil {
				k = uk
			}
		}
		if k != name {
			continue
		}
		if strings.ContainsAny(v, "%+") {
			if uv, err := url.QueryUnescape(v); err == nil {
				return uv
			}
		}
		return v
	}
	return ""
}

// choseUpstream reports whether the request has a chosen upstream: its
// content phase then forwards there, as routing.lua's calls
// context.route_upstream, whichever policy chose it (this one, a later
// routing or upstream policy, in the access phase).
func (p *routing) choseUpstream(c *Context) bool { return c.Upstream != nil }

// atUpstream: replace_path is the path of the upstream routing calls, so
// its content phase runs on the way to it (see Chain.planContent).
func (p *routing) atUpstream() {}
