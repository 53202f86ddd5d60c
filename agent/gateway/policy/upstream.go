package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portolan/portolan/internal/redact"
)

// upstreamPolicy is APIcast's upstream policy. Its README: "This policy
// allows to modify the upstream URL (scheme, host and port) of the request
// based on its path. It accepts regular expressions and, when matched
// against the request path, replaces the upstream URL with a given string.
// When combined with the APIcast policy, the upstream policy should be
// placed before it in the policy chain." The first rule whose regex matches
// the path wins. As APIcast's Upstream, the URL's path (when not "/")
// prefixes the request's path, and the Host header becomes the URL's host.
//
// As upstream.lua's content phase calls the chosen upstream when a rule
// matched ("return nil, 'no upstream'" otherwise), the content policies
// after it (echo, liquid_context_debug) never run for a request it routed,
// and it forwards to its own choice even when a routing policy after it
// chose another.
// Placed after the apicast element, against the manifest, its choice is not
// used: that element's content phase forwards to the service's upstream
// first (Chain.Serve).
type upstreamPolicy struct {
	rules []upstreamRule
	hits  prometheus.Counter
}

type upstreamRule struct {
	re *regexp.Regexp
	up *Upstream // shared by every request: never changed
}

type upstreamConfig struct {
	Rules []struct {
		Regex *string `json:"regex"`
		URL   *string `json:"url"`
	} `json:"rules"`
}

func newUpstream(conf json.RawMessage, env *Env) (Policy, error) {
	var cfg upstreamConfig
	if err := Decode(conf, &cfg); err != nil {
		return nil, err
	}
	p := &upstreamPolicy{hits: routeCounter(env, "upstream", "routed")}
	for i, r := range cfg.Rules {
		field := fmt.Sprintf("rules[%d]", i)
		if r.Regex == nil {
			return nil, Invalid(field+".regex", "is required")
		}
		if r.URL == nil {
			return nil, Invalid(field+".url", "is required")
		}
		re, err := compileRegex(field+".regex", *r.Regex, "")
		if err != nil {
			return nil, err
		}
		u, err := ParseUpstreamURL(field+".url", *r.URL)
		if err != nil {
			return nil, err
		}
		p.rules = append(p.rules, upstreamRule{re: re, up: &Upstream{URL: u, Host: HostHeader(u)}})
	}
	return p, nil
}

func (p *upstreamPolicy) Name() string { return "upstream" }

// Rewrite chooses the upstream, kept as the policy's own (upstream.lua's
// context[self]); the mapping rules still match the request's own path, as
// in APIcast, where the upstream changes in the content phase.
func (p *upstreamPolicy) Rewrite(c *Context) {
	for i := range p.rules {
		if p.rules[i].re.MatchString(c.R.URL.Path) {
			c.state[c.pos] = p.rules[i].up
			p.hits.Inc()
			return
		}
	}
}

// Access makes the policy's choice, when it made one, the request's
// (upstream.lua: "context.route_upstream = context[self] or
// context.route_upstream"), in chain order with routing's: what
// maintenance_mode, owner_id and a routing policy's content then see.
func (p *upstreamPolicy) Access(c *Context) {
	if up, _ := c.state[c.pos].(*Upstream); up != nil {
		c.Upstream = up
	}
}

// ParseUpstreamURL reads an upstream URL of a policy's configuration: http
// or https (ws and wss as their http counterparts, as APIcast does), with a
// host. Its errors never repeat the user info or the query, where a URL may
// carry credentials (redact.URL).
func ParseUpstreamURL(field, s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL
		}
		return nil, Invalid(field, "not a URL (want one like http://example.com:8080): %v", err)
	}
	switch u.Scheme {
	case "http", "https":
	case "ws":
		u.Scheme = "http"
	case "wss":
		u.Scheme = "https"
	default:
		return nil, Invalid(field, "want an http(s) URL like http://example.com:8080, not scheme %q", u.Scheme)
	}
	if u.Host == "" {
		return nil, Invalid(field, "has no host: %q", redact.URL(s))
	}
	if u.User != nil {
		return nil, Invalid(field, "user information in the upstream URL is not supported by the Portolan gateway")
	}
	u.Fragment = ""
	return u, nil
}

// HostHeader is the Host header APIcast sends to an upstream URL: its host,
// with the port only when it is not the scheme's default.
func HostHeader(u *url.URL) string {
	p := u.Port()
	if p == "80" && u.Scheme == "http" || p == "443" && u.Scheme == "https" {
		return strings.TrimSuffix(u.Host, ":"+p)
	}
	return u.Host
}

// JoinPath prefixes path with prefix as APIcast's Upstream does: the root
// path is the prefix itself, any other is appended with one slash between.
func JoinPath(prefix, path string) string {
	if path == "" || path == "/" {
		return prefix
	}
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	return strings.TrimSuffix(prefix, "/") + path
}

// routeCounter is the counter of a policy's event, resolved once; a no-op
// without metrics (unit tests).
func routeCounter(env *Env, policy, event string) prometheus.Counter {
	if env == nil || env.Metrics == nil {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: "unregistered"})
	}
	return env.Metrics.Policy.WithLabelValues(policy, event)
}

// choseUpstream reports whether p chose an upstream for c, and makes it
// c's: its content phase then forwards there, as upstream.lua's content
// calls context[self], even when a routing or upstream policy after it
// chose another since (their content phase never comes).
func (p *upstreamPolicy) choseUpstream(c *Context) bool {
	up, _ := c.state[c.pos].(*Upstream)
	if up == nil {
		return false
	}
	c.Upstream = up
	return true
}

// ownChoice: p's content forwards to its own choice, not the request's.
func (p *upstreamPolicy) ownChoice() {}
