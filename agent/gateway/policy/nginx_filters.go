package policy

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/portolan/portolan/internal/http1"
)

// nginxFiltersPolicy is APIcast's "nginx_filters" policy: "Nginx, by
// default, checks/validates some request headers. This policy allows the
// user to skips these checks and sends them to the upstream servers"
// (manifest). Its README: "The primary use case is like If-Match headers,
// where Nginx filters by default, but some users want these headers on the
// upstream server because Nginx is not responsible for this header. There
// is an option to delete it or to append it to the upstream server."
// headers (required, at least one) lists {name, append}, both required:
// APIcast removes each listed header in the rewrite phase, so that nginx's
// filter does not see it (its not_modified filter answers 412 to an
// If-Match or If-Unmodified-Since, or 304 to an If-None-Match or
// If-Modified-Since, on the answers nginx serves itself or from its
// proxy_cache), and, when append is true, sets it back in the access phase,
// so that the upstream gets it.
//
// As nginx, the Portolan gateway judges a request's preconditions only on
// the answers content_caching may keep or serves (a 200: 412 for a failed
// If-Match or If-Unmodified-Since, 304 for a matching If-None-Match or
// If-Modified-Since; see preconditionAnswer); any other answer is relayed
// as it comes. The listed headers are kept from that judgement
// (Context.Unfiltered), whatever their append; and, as in APIcast, a
// header listed with append false is removed from the request, so the
// upstream never gets it, and one with append true is removed in the
// rewrite phase and set back in the access phase, so the rewrite phases of
// the policies after this one do not see it and the upstream gets it as
// the client sent it.
//
// Names are matched case-insensitively; a name listed twice takes the later
// append, as APIcast's table of names does. Refused, since the gateway
// cannot honour them: append false for Host, Content-Length and
// Transfer-Encoding (the gateway always sends its own: they address and
// frame the request), and append true for a header the gateway never sends
// upstream (hop-by-hop ones, Expect, names with an underscore).
type nginxFiltersPolicy struct {
	headers []filteredHeader
	names   []string // the headers' names, for Context.Unfiltered
	restore bool     // some header has append true
}

type filteredHeader struct {
	name   string // canonical
	append bool
}

func newNginxFilters(conf json.RawMessage, _ *Env) (Policy, error) {
	var cfg struct {
		// Items read as any: a wrong type is then named with its index.
		Headers *[]struct {
			Name   any `json:"name"`
			Append any `json:"append"`
		} `json:"headers"`
	}
	if err := Decode(conf, &cfg); err != nil {
		return nil, err
	}
	if cfg.Headers == nil {
		return nil, Invalid("headers", "is required: the headers the gateway passes on or removes")
	}
	if len(*cfg.Headers) == 0 {
		return nil, Invalid("headers", "must list at least one header")
	}
	p := &nginxFiltersPolicy{}
	for i, h := range *cfg.Headers {
		f := fmt.Sprintf("headers[%d]", i)
		if h.Name == nil {
			return nil, Invalid(f+".name", "is required")
		}
		name, ok := h.Name.(string)
		if !ok {
			return nil, Invalid(f+".name", "must be a string, not %s", filterValueType(h.Name))
		}
		if !validHeaderName(name) {
			return nil, Invalid(f+".name", "%q is not an HTTP header name", name)
		}
		if h.Append == nil {
			return nil, Invalid(f+".append", "is required: true sends the header upstream, false removes it")
		}
		appendIt, ok := h.Append.(bool)
		if !ok {
			return nil, Invalid(f+".append", "must be a boolean, not %s", filterValueType(h.Append))
		}
		name = http.CanonicalHeaderKey(name)
		if err := filterable(f, name, appendIt); err != nil {
			return nil, err
		}
		fh := filteredHeader{name: name, append: appendIt}
		if j := p.index(name); j >= 0 {
			p.headers[j] = fh // the later entry wins
		} else {
			p.headers = append(p.headers, fh)
		}
	}
	for _, h := range p.headers {
		p.restore = p.restore || h.append
		p.names = append(p.names, h.name)
	}
	return p, nil
}

// filterValueType names the JSON type of a decoded value.
func filterValueType(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case float64:
		return "a number"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return "null"
}

// filterable refuses what the gateway cannot do with the header name.
func filterable(field, name string, appendIt bool) error {
	if !appendIt {
		switch name {
		case "Host", "Content-Length", "Transfer-Encoding":
			return Invalid(field+".append", "cannot be false for %s: the gateway always sends its own %s, which addresses or frames the request", name, name)
		}
		return nil
	}
	if http1.HopByHop(name) || name == "Expect" || strings.Contains(name, "_") {
		return Invalid(field+".append", "cannot be true for %s: the gateway never sends it upstream (hop-by-hop, Expect, or a name with an underscore)", name)
	}
	return nil
}

func (p *nginxFiltersPolicy) index(name string) int {
	for i, h := range p.headers {
		if h.name == name {
			return i
		}
	}
	return -1
}

func (p *nginxFiltersPolicy) Name() string { return "nginx_filters" }

// filteredValues are the values of the headers to set back in the access
// phase, in the order of p.headers; nil when the request had none.
type filteredValues [][]string

// Rewrite removes the listed headers, keeping those to be set back, and
// keeps them all from content_caching's preconditions.
func (p *nginxFiltersPolicy) Rewrite(c *Context) {
	c.Unfiltered = p.names
	h := c.R.Header
	for i, fh := range p.headers {
		vs, ok := h[fh.name]
		if !ok {
			continue
		}
		delete(h, fh.name)
		if fh.append {
			kept := c.State(func() any { return make(filteredValues, len(p.headers)) }).(filteredValues)
			kept[i] = vs
		}
	}
}

// Access sets back the headers listed with append true, replacing any value
// a policy set meanwhile, as APIcast's ngx.req.set_header does.
func (p *nginxFiltersPolicy) Access(c *Context) {
	if !p.restore {
		return
	}
	kept, _ := c.State(noFilteredValues).(filteredValues)
	for i, vs := range kept {
		if vs != nil {
			c.R.Header[p.headers[i].name] = vs
		}
	}
}

// noFilteredValues leaves the state unset when Rewrite kept nothing.
func noFilteredValues() any { return nil }
