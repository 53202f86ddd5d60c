package policy

import (
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portolan/portolan/composition"
)

// rateLimitHeaders is APIcast's rate_limit_headers: "This policy implements
// the `RateLimit Header Fields for HTTP` draft in responses" (manifest; its
// configuration has no properties). Its README: "This policy send the
// headers back to the user with the rate limit information", information
// "retrieved from APISonator, but is not always sync, on second request we
// cached the information".
//
// What APIcast does: every authorization asks 3scale's backend for its
// limit_headers extension, whose 3scale-limit-max-value, -remaining and
// -reset the policy keeps per usage and sets, in its content phase, as
// RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset on the response
// whoever then answers it (the upstream included). Apisonator's values are
// those of the most constrained usage limit of the metrics the request
// reports (their parents included): the fewest identical requests left,
// then the longer period ("1 remaining hit for a period of an hour takes
// precedence over 10 remaining hits for a period of a day, and it still
// takes precedence over 1 remaining hit for a period of a minute"), where
// the requests left are (max − current after this request) / this
// request's usage of the metric, 0 once none is left; the reset is the
// seconds to the end of that limit's period, rounded up. The policy sends
// no header when the reset is not positive: no limit on those metrics
// (apisonator's -1), or an eternity limit the most constrained (-1 too).
//
// Portolan computes the same when the apicast element admits the request,
// from the plan's limits and the counters its decision read, under the
// ledger's lock (Context.Limits, asked for in this policy's rewrite phase,
// so a service without the policy computes nothing), and writes the three
// fields in the header filter, on whatever answers after: the app, a peer,
// a policy. As in APIcast, an answer of the apicast element itself carries
// none: its 429 for the plan's limits (APIcast's limits_exceeded answers in
// the access phase, so the policy's content phase never runs), its 403s and
// 404s, its 503s. Differences, all from authorizing locally:
//
//   - APIcast's numbers are backend's answer to the last authorization not
//     served from a cache (APIcast's own, 3scale_batcher's, the caching
//     policy's), then one less for each request served from it whatever its
//     usage; with 3scale_batcher that answer comes from authorize, which
//     does not count the request. Here they are exact for this gateway, the
//     numbers it enforces: home's last totals plus this agent's usage not in
//     them yet; 3scale_batcher and caching change nothing.
//   - While home is away the ledger still has them, and they are sent
//     (APIcast sends none without backend's headers); a request caching's
//     allow mode serves uncounted (the usage spool full) gets none.
//   - The policy's place in the chain does not matter: APIcast's after the
//     apicast policy subscribes to backend's answer too late and reports
//     the cached numbers of an earlier request.
//   - RateLimit-Reset counts, rounded up, to when the response head goes
//     out rather than to APIcast's content phase, so it is never 0 (APIcast
//     sends no header at 0); past the end of the period none is sent.
//   - The fields are written in Go's canonical case (Ratelimit-Limit: field
//     names are case-insensitive) and replace any the upstream sent.
type rateLimitHeaders struct {
	now      func() time.Time
	reported prometheus.Counter // nil when Env has no Metrics
}

func newRateLimitHeaders(conf json.RawMessage, env *Env) (Policy, error) {
	var cfg struct{}
	if err := Decode(conf, &cfg); err != nil {
		return nil, err // not a JSON object: the schema's "type": "object"
	}
	p := &rateLimitHeaders{now: time.Now}
	if env.Now != nil {
		p.now = env.Now
	}
	if env.Metrics != nil {
		p.reported = env.Metrics.Policy.WithLabelValues("rate_limit_headers", "reported")
	}
	return p, nil
}

func (p *rateLimitHeaders) Name() string { return "rate_limit_headers" }

// Rewrite asks the apicast element, whose access phase comes after every
// rewrite, for the limit the request is closest to.
func (p *rateLimitHeaders) Rewrite(c *Context) {
	if c.Limits == nil {
		c.Limits = new(LimitStatus)
	}
}

// HeaderFilter writes what the apicast element found, if it admitted the
// request and a limit bounds the requests left.
func (p *rateLimitHeaders) HeaderFilter(c *Context) {
	s := c.Limits
	if s == nil || !s.found {
		return // not admitted, or no limit bounds the request's metrics
	}
	left := s.End.Sub(p.now())
	if left <= 0 {
		// Eternity's (a zero End: apisonator's reset -1), or a period that
		// ended while the request was served.
		return
	}
	reset := int64((left + time.Second - 1) / time.Second)
	// Canonical keys and one array for the three values: no allocation
	// for what Header.Set would canonicalize and wrap one by one.
	v := make([]string, 3)
	v[0], v[1], v[2] = strconv.FormatInt(max(s.Max, 0), 10), strconv.FormatInt(s.Remaining, 10), strconv.FormatInt(reset, 10)
	h := c.W.Header()
	h["Ratelimit-Limit"], h["Ratelimit-Remaining"], h["Ratelimit-Reset"] = v[0:1:1], v[1:2:2], v[2:3:3]
	if p.reported != nil {
		p.reported.Inc()
	}
}

// LimitStatus is the usage limit of an application's plan that a request is
// closest to, among those its usage counts against, as apisonator's
// limit_headers extension chooses it.
type LimitStatus struct {
	Max       int64     // the limit (RateLimit-Limit)
	Remaining int64     // requests of the same usage it admits after this one (RateLimit-Remaining)
	End       time.Time // the end of its period (RateLimit-Reset counts to it); zero for eternity
	rank      int       // its period's place in composition.Periods: the longer wins a tie
	found     bool
}

// Fold sets s to the most constrained of limits (the usage limits of the
// application's plan) on the metrics hits adds usage to, with current the
// counters before hits and hits then added: the fewest requests of this
// usage left, then the longest period. s is left unset when no limit
// bounds them: none on those metrics. It runs under the ledger's lock and
// allocates nothing.
func (s *LimitStatus) Fold(limits []*composition.UsageLimit, appID int64, hits []composition.Hit, current composition.Counter, now time.Time) {
	*s = LimitStatus{}
	for _, l := range limits {
		var usage int64
		named := false
		for _, h := range hits {
			if h.MetricID == l.MetricID {
				usage = composition.AddSaturating(usage, h.Delta)
				named = true
			}
		}
		if !named {
			continue // apisonator: only the metrics of the usage and their parents
		}
		start, end := composition.PeriodBounds(l.Period, now)
		left := l.Value - composition.AddSaturating(current(appID, l.MetricID, l.Period, start), usage)
		var calls int64
		switch {
		case left <= 0:
			calls = 0
		case usage > 0:
			calls = left / usage
		default:
			continue // no usage (a rule's delta is at least 1): apisonator's -1, the least constrained
		}
		rank := slices.Index(composition.Periods, l.Period)
		if s.found && (calls > s.Remaining || calls == s.Remaining && rank <= s.rank) {
			continue
		}
		*s = LimitStatus{Max: l.Value, Remaining: calls, End: end, rank: rank, found: true}
	}
}
