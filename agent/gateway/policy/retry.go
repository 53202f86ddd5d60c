package policy

import "encoding/json"

// retry is APIcast's retry policy: "Allows to retry requests to the
// upstream" (manifest), "retries": "Number of retries", an integer from 1
// to 10. Its README: "it is not possible to configure in which cases to
// retry from the policy. That's controlled with an environment variable
// that applies to all the services: APICAST_UPSTREAM_RETRY_CASES", which
// feeds nginx's proxy_next_upstream, "error timeout" by default. So the
// gateway retries a request up to retries more times when the upstream
// cannot be connected to, or fails or times out before answering a request
// it may send again (no body, not POST, PATCH or LOCK, as nginx without
// non_idempotent).
type retry struct{ retries int }

func newRetry(conf json.RawMessage, _ *Env) (Policy, error) {
	var cfg struct {
		Retries *float64 `json:"retries"`
	}
	if err := Decode(conf, &cfg); err != nil {
		return nil, err
	}
	if cfg.Retries == nil {
		return &retry{}, nil // APIcast: no retries configured, none made
	}
	n := *cfg.Retries
	if n != float64(int(n)) {
		return nil, Invalid("retries", "must be an integer, not %v", n)
	}
	if n < 1 || n > 10 {
		return nil, Invalid("retries", "must be between 1 and 10, not %v", n)
	}
	return &retry{retries: int(n)}, nil
}

func (p *retry) Name() string { return "retry" }

// Rewrite sets the retries for the content phase.
func (p *retry) Rewrite(c *Context) { c.Retries = p.retries }
