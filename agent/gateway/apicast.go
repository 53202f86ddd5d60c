package gateway

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/portolan/portolan/agent/gateway/policy"
	"github.com/portolan/portolan/composition"
)

// apicastElement is the chain's "apicast" element: today's gateway as
// APIcast's own policy. In the rewrite phase it reads the credentials and
// matches the mapping rules (so url_rewriting before it changes what
// matches); in the access phase it authenticates the application and admits
// its usage against the plan's limits; the gateway's forward is its content
// phase.
type apicastElement struct {
	g *Gateway
	v *view
	// usage resolves the metrics of the usage policies add before
	// authorization (Context.AddedUsage: soap), by system name.
	usage *policyUsage
}

func (a *apicastElement) Name() string { return "apicast" }

// request is the gateway's state for one request: the chain's context and
// what the apicast element found, pooled together.
type request struct {
	ctx policy.Context
	ad  *admission
	up  *upstream // where the apicast element sends the request; nil: the local app
	app policy.App
	rec statusRecorder // the client's writer, noting the status (metrics_record.go)

	// limited is rq.withinLimits, bound once per pooled request so that
	// the decision allocates nothing; refusal is what it noted when the
	// plan's limits refused the request.
	limited func(composition.Counter) bool
	refusal refusal
}

func (a *apicastElement) Rewrite(c *policy.Context) {
	g, v, rq := a.g, a.v, c.Gateway.(*request)
	var cred composition.Credentials
	var token string // OpenID Connect services: the access token
	if v.oidc != nil {
		var given bool
		if token, given = v.oidc.token(c.R); !given {
			if g.bodyTimedOut(c.W, c.R, formReadError(c.R)) {
				c.Answered = true
				return
			}
			g.m.authMissing.Inc()
			v.errAuthMissing.respond(c)
			return
		}
	} else {
		var got given
		if cred, got = v.creds.read(c.R); v.creds.none(got) && c.DefaultCredentials != nil {
			// None of the service's version's credentials: APIcast's
			// default_credentials creds_missing, where an app_key alone is
			// not missing.
			cred, got = composition.Credentials(*c.DefaultCredentials), givenUserKey|givenAppID|givenAppKey
		}
		if !v.creds.complete(got) {
			// APIcast asks backend only with every credential of the
			// version: an app_id without an app_key is missing
			// credentials, while one sent empty ("?user_key=") goes on to
			// be refused as no application's. A form body the client
			// stopped sending is its fault, as nginx's 408 says.
			if g.bodyTimedOut(c.W, c.R, formReadError(c.R)) {
				c.Answered = true
				return
			}
			g.m.authMissing.Inc()
			v.errAuthMissing.respond(c)
			return
		}
	}
	if v.oidc != nil && !a.verifyToken(c, token, &cred) {
		// proxy.lua's rewrite transforms the token into credentials before
		// the access phase's authorize answers no_match: a refused token is
		// refused whatever the rules match.
		return
	}
	var query url.Values
	if v.needsQuery {
		query = requestArgs(c.R)
	}
	ad := g.admissions.Get().(*admission)
	rq.ad = ad
	var owner int64 // routing's owner_id: only that backend API's rules (and the product's) add usage
	if c.Upstream != nil {
		owner = c.Upstream.OwnerID
	}
	if owner == 0 {
		// No rule of the product's routing policy named a backend: the one
		// the path belongs to, as porta's routing policy for backends under
		// sub paths (ahead of the product's own rules) picks it.
		owner = v.matcher.Owner(c.R.URL.Path)
	}
	hits, n := v.matcher.MatchOwned(ad.buf[:0], c.R.Method, c.R.URL.Path, query, owner)
	if n == 0 && len(c.AddedUsage) == 0 {
		// APIcast's authorize answers no_match for an empty usage: one a
		// policy added before (soap) is not.
		g.m.noMatch.Inc()
		v.errNoMatch.respond(c)
		return
	}
	ad.hits, ad.cred, ad.owner, ad.path, ad.query = hits, cred, owner, c.R.URL.Path, query
}

func (a *apicastElement) Access(c *policy.Context) {
	g, v, rq := a.g, a.v, c.Gateway.(*request)
	ad := rq.ad
	if ad == nil || ad.hits == nil {
		return // the rewrite phase did not run (apicast placed after an answer)
	}
	if c.Upstream != nil && c.Upstream.OwnerID != 0 && c.Upstream.OwnerID != ad.owner {
		// The routing policy chose a backend API's upstream in the access
		// phase, as APIcast's does (after the token was verified): only that
		// backend's rules, and the product's, add usage, as APIcast's
		// route_upstream_usage_cleanup subtracts the others' deltas.
		ad.hits, _ = v.matcher.MatchOwned(ad.buf[:0], c.R.Method, ad.path, ad.query, c.Upstream.OwnerID)
		ad.owner = c.Upstream.OwnerID
	}
	away := g.homeAway(c)
	if away && c.Caching == policy.CachingNone {
		g.cachingRefuse(c, cachingNoneBody)
		return
	}
	var app *composition.Application
	var plan *composition.ApplicationPlan
	var denial *composition.Denial
	if v.oidc != nil {
		app, plan, denial = oidcAuthenticate(v.apps, ad.cred.AppID)
	} else {
		app, plan, denial = v.apps.Authenticate(ad.cred)
	}
	if v.referrers {
		// As apisonator's referrer validator on what APIcast sends it: the
		// Referer header when the 3scale_referrer policy ran, else no
		// referrer, which an application with filters is refused for. A
		// refusal is APIcast's "authorization failed", as every rejection
		// but limits_exceeded is.
		denial = composition.ReferrerStep(true, app, c.Referrer, c.ReferrerGiven, denial)
	}
	if denial != nil || plan == nil {
		if denial != nil && denial.Code == composition.DenialReferrerNotAllowed {
			g.m.referrerDenied.Inc()
		} else {
			g.m.authFailed.Inc()
		}
		if app != nil && c.Caching == policy.CachingStrict {
			g.caching.authorized.forget(app.ID) // strict: a denial invalidates
		}
		v.errAuthFailed.respond(c)
		return
	}
	if away && c.Caching == policy.CachingStrict && !g.caching.authorized.has(app.ID) {
		g.cachingRefuse(c, cachingStrictBody)
		return
	}
	for _, u := range c.AddedUsage {
		var ok bool
		if ad.hits, ok = a.usage.addHits(ad.hits, u.Metric, u.Delta); !ok {
			// apisonator refuses usage of a metric the service does not
			// have (metric_invalid), which APIcast answers as
			// "authorization failed".
			g.m.authFailed.Inc()
			v.errAuthFailed.respond(c)
			return
		}
	}
	rq.app = policy.App{ID: app.ID, PlanID: plan.ID, AppID: app.AppID}
	c.App = &rq.app
	if !v.servesPlan(plan.ID) {
		if rq.up = g.remote(v, plan.ID); rq.up == nil {
			g.m.noInstance.Inc()
			c.Respond(http.StatusServiceUnavailable, plainText[0], v.noInstanceBody(plan))
			return
		}
	}
	now := time.Now()
	decide := ad.decider(v, app, ad.hits, now)
	if ad.v != nil { // the decider bound the plan's limits: note which refuses
		if rq.limited == nil {
			rq.limited = rq.withinLimits
		}
		decide = rq.limited
	}
	if c.Limits != nil && len(v.limits[app.PlanID]) > 0 {
		decide = foldingLimits(decide, c.Limits, v.limits[app.PlanID], app.ID, ad.hits, now)
	}
	if err := g.ledger.Admit(app.ID, ad.hits, now, decide); err != nil {
		c.Limits = nil // refused, or served uncounted: no limit to report
		if errors.Is(err, composition.ErrLimitsExceeded) {
			if c.Caching == policy.CachingStrict {
				g.caching.authorized.forget(app.ID)
			}
			ref := rq.refusal
			rq.refusal = refusal{}
			if ref.found && ref.max == 0 {
				// proxy.lua: a disabled metric (a limit of 0) is refused as
				// "authorization failed", not as limits exceeded.
				g.m.authFailed.Inc()
				v.errAuthFailed.respond(c)
				return
			}
			g.m.limitsExceeded.Inc()
			if secs, ok := ref.retryAfter(time.Now()); ok && !c.Answered {
				c.W.Header()["Retry-After"] = []string{strconv.FormatInt(secs, 10)}
			}
			v.errLimits.respond(c)
			return
		}
		if away && c.Caching == policy.CachingAllow {
			g.caching.uncounted.Inc() // allow: served, though its usage is lost
			return
		}
		// Not the client's fault: the usage could not be kept (home away too
		// long, or the cache dir failing). Refuse rather than serve uncounted.
		g.m.unrecorded.Inc()
		c.Respond(http.StatusServiceUnavailable, plainText[0], unrecordedBody)
		return
	}
	if c.Caching == policy.CachingStrict && !away {
		g.caching.authorized.remember(app.ID)
	}
}

// foldingLimits is decide that also notes, in s, the plan limit the request
// is closest to for rate_limit_headers: under the ledger's lock, from the
// counters decide reads, once it admits the request.
func foldingLimits(decide func(composition.Counter) bool, s *policy.LimitStatus, limits []*composition.UsageLimit,
	appID int64, hits []composition.Hit, now time.Time) func(composition.Counter) bool {
	return func(cur composition.Counter) bool {
		if !decide(cur) {
			return false
		}
		s.Fold(limits, appID, hits, cur, now)
		return true
	}
}

// withinLimits is the admission's check of the plan's limits that, when
// they refuse the request, notes the limit apisonator reports for it: it
// runs under the ledger's lock, with the counters the check read.
func (rq *request) withinLimits(cur composition.Counter) bool {
	ad := rq.ad
	if ad.within(cur) {
		return true
	}
	rq.refusal = refusingLimit(ad.v.limits[ad.app.PlanID], ad.app.ID, ad.hits, cur, ad.now)
	return false
}

// refusal is the usage limit reported for a request the plan's limits
// refused, as apisonator's limit_headers extension reports it to APIcast
// (3scale-limit-max-value and -reset), which proxy.lua turns into the
// answer: Retry-After from the reset, and "authorization failed" for a
// limit of 0 (a disabled metric). Differences: the reset is counted by the
// agent's clock to when the answer is written, not by backend's at the
// authorization; APIcast's 3scale_batcher reads only the rejection reason,
// so its 429 has no Retry-After and a disabled metric gets a 429 too,
// while here the chain does not matter: the gateway authorizes every
// request itself.
type refusal struct {
	max   int64
	end   time.Time // the end of its period; zero for eternity
	found bool
}

// retryAfter is APIcast's Retry-After for the refusal at now: the seconds
// to the end of the limit's period, rounded up as apisonator's
// remaining_time, 0 once it has ended. None for eternity, whose reset
// apisonator gives as -1 (APIcast would send "Retry-After: -1", which no
// client can read as a delay).
func (r refusal) retryAfter(now time.Time) (int64, bool) {
	if !r.found || r.end.IsZero() {
		return 0, false
	}
	return max(int64((r.end.Sub(now)+time.Second-1)/time.Second), 0), true
}

// refusingLimit picks, among limits (the plan's), the one apisonator's
// limit_headers reports for refused usage hits: of the limits on the
// metrics hits names, the one leaving the fewest identical requests (none
// for each limit that refuses it), then the longest period. As apisonator
// for a refused call, the requests left count from the stored value alone:
// (max - current) / usage, 0 when nothing is left; a limit on a metric
// the request adds nothing to leaves any number (apisonator's -1).
func refusingLimit(limits []*composition.UsageLimit, appID int64, hits []composition.Hit,
	cur composition.Counter, now time.Time) refusal {
	var r refusal
	least, rank := int64(0), 0
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
			continue
		}
		start, end := composition.PeriodBounds(l.Period, now)
		left := l.Value - cur(appID, l.MetricID, l.Period, start)
		var calls int64
		switch {
		case left <= 0:
		case usage > 0:
			calls = left / usage
		default:
			continue
		}
		p := slices.Index(composition.Periods, l.Period)
		if r.found && (calls > least || calls == least && p <= rank) {
			continue
		}
		r, least, rank = refusal{max: l.Value, end: end, found: true}, calls, p
	}
	return r
}
