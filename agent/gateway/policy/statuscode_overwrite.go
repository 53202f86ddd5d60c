package policy

import (
	"encoding/json"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// statusOverwrite is APIcast's "statuscode_overwrite" policy ("HTTP Status
// Code Overwrite"): "Configures a 1-1 mapping for upstream's http codes."
// Its README: "This policy changes the upstream status code with the
// desired ones." Each http_statuses entry maps an "upstream" code ("Upstream
// HTTP code to replace") to an "apicast" one ("HTTP code to return"), both
// required integers from 100 to 600; a later entry for the same upstream
// code replaces an earlier one, as statuscode_overwrite.lua's table does.
//
// As in APIcast, the mapping runs in the header filter phase, so it applies
// to every response of the service wherever the policy sits in the chain:
// the upstream's and the gateway's own answers alike (its "Authentication
// parameters missing" 403, a rate limit's 429, a policy's answer), since
// APIcast's location runs the chain's header_filter for what its rewrite and
// access phases answer too. Only the status changes: the headers and body
// stay the upstream's, except that a 204 or 304 is sent without a body, as
// HTTP and nginx send them.
//
// Differences, both configurations that cannot make an HTTP response and
// that the policy refuses instead of sending: an "apicast" code below 200
// (an informational status cannot end a response), and an "upstream" 101
// (the connection has switched protocols: renaming the status would leave
// the client unable to read what follows).
type statusOverwrite struct {
	codes       map[int]int
	overwritten prometheus.Counter
}

type statusOverwriteConfig struct {
	HTTPStatuses []struct {
		Upstream *int64 `json:"upstream"`
		APIcast  *int64 `json:"apicast"`
	} `json:"http_statuses"`
}

func newStatusCodeOverwrite(conf json.RawMessage, env *Env) (Policy, error) {
	var cfg statusOverwriteConfig
	if err := Decode(conf, &cfg); err != nil {
		return nil, err
	}
	p := &statusOverwrite{codes: make(map[int]int, len(cfg.HTTPStatuses)),
		overwritten: routeCounter(env, "statuscode_overwrite", "overwritten")}
	for i, s := range cfg.HTTPStatuses {
		field := fmt.Sprintf("http_statuses[%d]", i)
		for _, req := range []struct {
			name string
			v    *int64
		}{{"upstream", s.Upstream}, {"apicast", s.APIcast}} {
			if req.v == nil {
				return nil, Invalid(field+"."+req.name, "is required")
			}
			if *req.v < 100 || *req.v > 600 {
				return nil, Invalid(field+"."+req.name, "must be an HTTP status code from 100 to 600, not %d", *req.v)
			}
		}
		if *s.APIcast < 200 {
			return nil, Invalid(field+".apicast", "must be a final status (200 to 600), not %d: an informational status cannot end a response", *s.APIcast)
		}
		if *s.Upstream == 101 {
			return nil, Invalid(field+".upstream", "cannot be 101: a connection that switched protocols cannot be given another status")
		}
		p.codes[int(*s.Upstream)] = int(*s.APIcast)
	}
	return p, nil
}

func (p *statusOverwrite) Name() string { return "statuscode_overwrite" }

// HeaderFilter replaces the status when it is mapped.
func (p *statusOverwrite) HeaderFilter(c *Context) {
	if s, ok := p.codes[c.Status]; ok {
		c.Status = s
		p.overwritten.Inc()
	}
}
