package policy

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// corsPolicy is APIcast's "cors" policy: "This policy enables Cross Origin
// Resource Sharing (CORS) request handling. It allows to define CORS headers
// such as Access-Control-Allow-Headers, Access-Control-Allow-Methods, etc."
//
// As APIcast does it, a preflight (OPTIONS with Origin and
// Access-Control-Request-Method) is answered 204 in the rewrite phase, before
// credentials are asked for and without reaching the upstream; the header
// filter then sets the Access-Control-Allow-* headers on every response to a
// request that has an Origin, the preflight's included. A value left out of
// the configuration echoes the request's: Origin, Access-Control-Request-
// Headers, Access-Control-Request-Method; Allow-Credentials defaults to true
// and Max-Age to 600.
type corsPolicy struct {
	headers, methods []string // nil: the request's Access-Control-Request-*
	origin           []string // nil: the request's Origin
	originRe         *regexp.Regexp
	credentials      []string // "true" or "false"
	maxAge           []string

	preflights prometheus.Counter
}

type corsConfig struct {
	AllowHeaders     []string `json:"allow_headers"`
	AllowMethods     []string `json:"allow_methods"`
	AllowOrigin      string   `json:"allow_origin"`
	AllowCredentials *bool    `json:"allow_credentials"`
	MaxAge           *int64   `json:"max_age"`
}

var corsMethods = []string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT"}

func newCORS(conf json.RawMessage, env *Env) (Policy, error) {
	var cfg corsConfig
	if err := Decode(conf, &cfg); err != nil {
		return nil, err
	}
	// Clipped: a later append to a response's header never writes into them.
	p := &corsPolicy{headers: slices.Clip(cfg.AllowHeaders), methods: slices.Clip(cfg.AllowMethods),
		credentials: []string{"true"}, maxAge: []string{"600"},
		preflights: env.Metrics.Policy.WithLabelValues("cors", "preflight")}
	for i, h := range cfg.AllowHeaders {
		if !validHeaderValue(h) {
			return nil, Invalid("allow_headers["+strconv.Itoa(i)+"]", "must not hold a line break or a control character")
		}
	}
	for i, m := range cfg.AllowMethods {
		if _, err := OneOf("allow_methods["+strconv.Itoa(i)+"]", m, "", corsMethods...); err != nil {
			return nil, err
		}
	}
	if !validHeaderValue(cfg.AllowOrigin) {
		return nil, Invalid("allow_origin", "must not hold a line break or a control character")
	}
	if corsOriginIsPattern(cfg.AllowOrigin) {
		re, err := regexp.Compile(cfg.AllowOrigin)
		if err != nil {
			return nil, Invalid("allow_origin", "is neither an origin (scheme://host) nor '*' and not a valid regular expression: %v", err)
		}
		p.originRe = re
	} else if cfg.AllowOrigin != "" {
		p.origin = []string{cfg.AllowOrigin}
	}
	if cfg.AllowCredentials != nil {
		p.credentials = []string{strconv.FormatBool(*cfg.AllowCredentials)}
	}
	if cfg.MaxAge != nil {
		p.maxAge = []string{strconv.FormatInt(*cfg.MaxAge, 10)}
	}
	return p, nil
}

// corsOriginIsPattern tells a regular expression from an origin as APIcast
// does: what does not parse as a URL with a scheme (and a host, for http and
// https) and is not "*" is a pattern matched against the request's Origin,
// and so is one that parses but holds a character no origin has and regular
// expressions use ("https://.*.example.com": Go's URL parser takes ".*" for
// part of a host name). Brackets are left out: an IPv6 origin has them, and
// a class ("https://[a-z]+.example.com") does not parse as a URL anyway.
func corsOriginIsPattern(s string) bool {
	if s == "" || s == "*" {
		return false
	}
	if strings.ContainsAny(s, `*+?(){}|^$\`) {
		return true
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
		return true
	}
	return (u.Scheme == "http" || u.Scheme == "https") && u.Host == ""
}

func (p *corsPolicy) Name() string { return "cors" }

// Rewrite answers a preflight: "when the request method is OPTIONS, and
// Origin and Access-Control-Request-Method headers are present", 204.
func (p *corsPolicy) Rewrite(c *Context) {
	r := c.R
	if r.Method != http.MethodOptions || headerFirst(r.Header, "Origin") == "" || headerFirst(r.Header, "Access-Control-Request-Method") == "" {
		return
	}
	p.preflights.Inc()
	c.Respond(http.StatusNoContent, "", nil)
}

// HeaderFilter sets the CORS headers of a response to a request with an
// Origin; like nginx's ngx.header, a value that is empty removes the header.
func (p *corsPolicy) HeaderFilter(c *Context) {
	origin := headerFirst(c.R.Header, "Origin")
	if origin == "" {
		return
	}
	h := c.W.Header()
	corsSet(h, "Access-Control-Allow-Headers", p.headers, c.R.Header, "Access-Control-Request-Headers")
	corsSet(h, "Access-Control-Allow-Methods", p.methods, c.R.Header, "Access-Control-Request-Method")
	switch {
	case p.originRe != nil:
		// A pattern that does not match leaves the header unset: the origin
		// is not allowed, and echoing it would allow it.
		if p.originRe.MatchString(origin) {
			h["Access-Control-Allow-Origin"] = []string{origin}
		}
	case p.origin != nil:
		h["Access-Control-Allow-Origin"] = p.origin
	default:
		h["Access-Control-Allow-Origin"] = []string{origin}
	}
	h["Access-Control-Allow-Credentials"] = p.credentials
	h["Access-Control-Max-Age"] = p.maxAge
}

// corsSet sets key to the configured values (one header line each, as
// APIcast sends a list) or, when none are configured, to what the request
// asked for (its header named asked); empty removes it.
func corsSet(h http.Header, key string, configured []string, req http.Header, asked string) {
	if len(configured) > 0 {
		h[key] = configured
		return
	}
	if requested := headerFirst(req, asked); configured == nil && requested != "" {
		h[key] = []string{requested}
		return
	}
	delete(h, key)
}

// headerFirst is h.Get(key) for a key already in canonical form, as the
// servers' parsers store them: without canonicalizing key again, which
// costs more than the lookup on a response's header filter.
func headerFirst(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// validHeaderValue reports whether s can be sent as a header value as it
// is: no control character but tab.
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < ' ' && b != '\t' || b == 0x7f {
			return false
		}
	}
	return true
}

// validHeaderName reports whether s is an HTTP token (RFC 9110 5.1).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' {
			continue
		}
		switch b {
		case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
			continue
		}
		return false
	}
	return true
}
