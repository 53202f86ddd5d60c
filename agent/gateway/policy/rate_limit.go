package policy

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// rate_limit is APIcast's "Edge Limiting" policy. Its README: "The purpose of
// this policy is to control the rate of traffic sent to the upstream API",
// with three kinds of limits from lua-resty-limit-traffic:
//
//   - fixed_window_limiters: "Can make up to `count` requests per `window`
//     seconds";
//   - leaky_bucket_limiters: "Can make up to `rate` requests per second. It
//     allows exceeding that number by `burst` requests per second, although
//     an artificial delay is introduced for those requests between `rate`
//     and `burst`" (nginx's limit_req without nodelay);
//   - connection_limiters: "`conn` is the max number of concurrent
//     connections allowed. It allows exceeding that number by `burst`
//     connections per second. `delay` is the number of seconds to delay the
//     connections that exceed the limit" (left in the log phase).
//
// "When several of them apply, going over the limits for one of them is
// enough to reject the request or delay it." Each limiter has a key (plain
// or Liquid: {{ remote_addr }}, {{ jwt.sub }}, {{ headers['X'] }}), scoped
// to the service or global, and an optional condition. A request refused
// (limits_exceeded_error, configuration_error, error_handling "exit") gets
// what APIcast's ngx.exit(status_code) has nginx send: its error page for
// the status (nginxErrorPage).
//
// Counters live in Env.Shared, so a chain rebuilt at a new revision keeps
// them. Where APIcast shares limits between gateways through Redis
// (redis_url), Portolan counts fixed windows cluster-wide through home
// (Env.Global) for limiters of global scope, and for every limiter when
// redis_url is set; leaky buckets and connection limits stay per gateway.
type rateLimit struct {
	env      *Env
	now      func() time.Time
	limiters []*rlLimiter // APIcast's order: connections, leaky buckets, fixed windows

	exceeded, confError rlErrorSetting

	mRejected, mDelayed, mLogged, mConfError prometheus.Counter
}

type rlErrorSetting struct {
	status int
	exit   bool // "exit": answer status; "log": only log and let the request through
	// The answer's content type and body: APIcast's ngx.exit(status) has
	// nginx send its error page for the status (nginxErrorPage).
	contentType string
	body        []byte
}

type rateLimitConfig struct {
	FixedWindow []rlLimiterConfig `json:"fixed_window_limiters"`
	LeakyBucket []rlLimiterConfig `json:"leaky_bucket_limiters"`
	Connection  []rlLimiterConfig `json:"connection_limiters"`
	Exceeded    *rlErrorConfig    `json:"limits_exceeded_error"`
	ConfError   *rlErrorConfig    `json:"configuration_error"`
	RedisURL    string            `json:"redis_url"`
}

type rlLimiterConfig struct {
	Key       *rlKeyConfig     `json:"key"`
	Condition *conditionConfig `json:"condition"`
	Count     *int64           `json:"count"`
	Window    *int64           `json:"window"`
	Rate      *int64           `json:"rate"`
	Burst     *int64           `json:"burst"`
	Conn      *int64           `json:"conn"`
	Delay     *float64         `json:"delay"`
}

type rlKeyConfig struct {
	Name     *string `json:"name"`
	NameType string  `json:"name_type"`
	Scope    string  `json:"scope"`
}

type rlErrorConfig struct {
	StatusCode    *int   `json:"status_code"`
	ErrorHandling string `json:"error_handling"`
}

// maxRateLimitDelay bounds any delay the policy imposes, whatever the
// configuration says (a request is not held for longer than this).
const maxRateLimitDelay = time.Minute

func newRateLimit(conf json.RawMessage, env *Env) (Policy, error) {
	var cfg rateLimitConfig
	if err := Decode(conf, &cfg); err != nil {
		return nil, err
	}
	p := &rateLimit{env: env, now: env.Now}
	if p.now == nil {
		p.now = time.Now
	}
	var err error
	if p.exceeded, err = rlErrorFrom("limits_exceeded_error", cfg.Exceeded, http.StatusTooManyRequests); err != nil {
		return nil, err
	}
	if p.confError, err = rlErrorFrom("configuration_error", cfg.ConfError, http.StatusInternalServerError); err != nil {
		return nil, err
	}
	shared := cfg.RedisURL != ""
	for i, lc := range cfg.Connection {
		l, err := buildLimiter(fmt.Sprintf("connection_limiters[%d]", i), rlConnections, lc, env, false)
		if err != nil {
			return nil, err
		}
		p.limiters = append(p.limiters, l)
	}
	for i, lc := range cfg.LeakyBucket {
		l, err := buildLimiter(fmt.Sprintf("leaky_bucket_limiters[%d]", i), rlLeakyBucket, lc, env, false)
		if err != nil {
			return nil, err
		}
		p.limiters = append(p.limiters, l)
	}
	for i, lc := range cfg.FixedWindow {
		l, err := buildLimiter(fmt.Sprintf("fixed_window_limiters[%d]", i), rlFixedWindow, lc, env, shared)
		if err != nil {
			return nil, err
		}
		p.limiters = append(p.limiters, l)
	}
	if shared {
		env.Log.Warn().Str("policy", "rate_limit").
			Msg("rate_limit: redis_url is not used by the Portolan gateway: fixed window limits are counted cluster-wide through home instead; leaky bucket and connection limits are per gateway")
	}
	if env.Metrics != nil {
		p.mRejected = env.Metrics.Policy.WithLabelValues("rate_limit", "rejected")
		p.mDelayed = env.Metrics.Policy.WithLabelValues("rate_limit", "delayed")
		p.mLogged = env.Metrics.Policy.WithLabelValues("rate_limit", "exceeded_logged")
		p.mConfError = env.Metrics.Policy.WithLabelValues("rate_limit", "configuration_error")
	}
	return p, nil
}

func rlErrorFrom(field string, c *rlErrorConfig, def int) (rlErrorSetting, error) {
	s := rlErrorSetting{status: def, exit: true}
	if c != nil {
		if c.StatusCode != nil {
			// The schema says integer; a status outside 200-599 cannot end
			// a response (an informational one would be followed by a 200).
			if *c.StatusCode < 200 || *c.StatusCode > 599 {
				return s, Invalid(field+".status_code", "must be a final HTTP status (200 to 599), not %d", *c.StatusCode)
			}
			s.status = *c.StatusCode
		}
		h, err := OneOf(field+".error_handling", c.ErrorHandling, "exit", "exit", "log")
		if err != nil {
			return s, err
		}
		s.exit = h == "exit"
	}
	s.contentType, s.body = nginxErrorPage(s.status)
	return s, nil
}

func (p *rateLimit) Name() string { return "rate_limit" }

// rlRequest is the per-request state: the connection limiters to leave in
// the log phase.
type rlRequest struct {
	committed []rlCommitted
}

type rlCommitted struct {
	l   *rlLimiter
	key string
}

// Access runs every limiter whose condition holds, as lua-resty-limit-traffic's
// combine does: a rejection by any undoes what the others counted, and the
// request waits for the longest delay asked.
func (p *rateLimit) Access(c *Context) {
	now := p.now()
	var (
		delay     time.Duration
		committed []rlCommitted
	)
	undo := func() {
		for _, x := range committed {
			x.l.uncommit(x.key, now)
		}
	}
	for _, l := range p.limiters {
		if l.cond != nil && !l.cond.holds(c, p.env, renderRequest) {
			continue
		}
		key := l.fullKey(c, p.env)
		d, err := l.incoming(key, now)
		if err == errRLRejected {
			undo()
			p.count(p.mRejected)
			p.env.Log.Warn().Str("policy", "rate_limit").Str("limiter", l.field).Msg("requests over the limit")
			if p.exceeded.exit {
				c.Respond(p.exceeded.status, p.exceeded.contentType, p.exceeded.body)
				return
			}
			p.count(p.mLogged)
			return // "log": the request goes through uncounted, as APIcast's
		}
		if err != nil {
			undo()
			p.count(p.mConfError)
			p.env.Log.Error().Err(err).Str("policy", "rate_limit").Str("limiter", l.field).Msg("failed to limit traffic")
			if p.confError.exit {
				c.Respond(p.confError.status, p.confError.contentType, p.confError.body)
			}
			return
		}
		committed = append(committed, rlCommitted{l, key})
		delay = max(delay, d)
	}
	var conns []rlCommitted
	for _, x := range committed {
		if x.l.kind == rlConnections {
			conns = append(conns, x)
		}
	}
	if len(conns) > 0 {
		c.State(func() any { return &rlRequest{} }).(*rlRequest).committed = conns
	}
	if delay > 0 {
		p.count(p.mDelayed)
		sleepCtx(c.R.Context(), min(delay, maxRateLimitDelay))
	}
}

// Log leaves the connection limiters the request entered.
func (p *rateLimit) Log(c *Context) {
	st, ok := c.State(func() any { return (*rlRequest)(nil) }).(*rlRequest)
	if !ok || st == nil {
		return
	}
	now := p.now()
	for _, x := range st.committed {
		x.l.uncommit(x.key, now)
	}
	st.committed = nil
}

func (p *rateLimit) count(m prometheus.Counter) {
	if m != nil {
		m.Inc()
	}
}

// sleepCtx waits d, or until ctx ends (the client went away).
func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// seconds converts a configured number of seconds, bounded.
func seconds(s float64) time.Duration {
	if s*float64(time.Second) > float64(math.MaxInt64) {
		return maxRateLimitDelay
	}
	return time.Duration(s * float64(time.Second))
}
