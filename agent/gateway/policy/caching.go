package policy

import "encoding/json"

// Caching modes (the caching policy's caching_type).
const (
	CachingStrict    = "strict"
	CachingResilient = "resilient"
	CachingAllow     = "allow"
	CachingNone      = "none"
)

// caching is APIcast's "3scale Auth Caching" policy. Its manifest:
// "Configures a cache for the authentication calls against the 3scale
// backend": strict "only caches authorized calls. Denied and failed calls
// invalidate the cache entry"; resilient "caches authorized and denied
// calls. Failed calls do not invalidate the cache", so APIcast authorizes
// "according to the result of the last request made even when backend is
// down"; allow: "when backend is down _any_ request will be authorized
// unless last call to backend for that request returned 'deny'"; none
// "disables caching".
//
// A Portolan gateway never asks home per request: it authorizes from its
// local snapshot and ledger and reports usage home in batches, so the modes
// matter only while home is away (not reached within the agent's TTL). The
// apicast element reads Context.Caching and, while home is away:
//
//   - none: refuses every request with 503 (nothing is cached, so each
//     authorization would need home);
//   - strict: serves only applications this gateway authorized while home
//     was reachable; one it denied since (limits, a refusal) is dropped, and
//     one not seen before is refused with 503;
//   - resilient: serves from the snapshot, limits counted in the local
//     ledger, usage spooled for home (the gateway's behaviour without the
//     policy);
//   - allow: as resilient, and serves even when the usage cannot be kept
//     (the spool is full) instead of answering 503. Credentials the
//     snapshot does not know are still refused: the snapshot is home's
//     record, not a cache of answers, so "unless seen before and denied"
//     holds for them.
//
// With home reachable every mode serves as resilient does.
type caching struct {
	mode string
}

type cachingConfig struct {
	CachingType string `json:"caching_type"`
}

func newCaching(conf json.RawMessage, _ *Env) (Policy, error) {
	var c cachingConfig
	if err := Decode(conf, &c); err != nil {
		return nil, err
	}
	if c.CachingType == "" {
		return nil, Invalid("caching_type", "is required")
	}
	mode, err := OneOf("caching_type", c.CachingType, "", CachingStrict, CachingResilient, CachingAllow, CachingNone)
	if err != nil {
		return nil, err
	}
	return &caching{mode: mode}, nil
}

func (p *caching) Name() string { return "caching" }

// Rewrite sets the mode for the apicast element, which reads it in the
// access phase, wherever in the chain the two are.
func (p *caching) Rewrite(c *Context) { c.Caching = p.mode }
