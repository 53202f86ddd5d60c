package gateway

import (
	"errors"
	"net/http"
	"net/url"
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
}

func (a *apicastElement) Rewrite(c *policy.Context) {
	g, v, rq := a.g, a.v, c.Gateway.(*request)
	var cred composition.Credentials
	var token string // OpenID Connect services: the access token
	if v.oidc != nil {
		var given bool
		if token, given = v.oidc.token(c.R); !given {
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
			// be refused as no application's.
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
		query = c.R.URL.Query()
	}
	ad := g.admissions.Get().(*admission)
	rq.ad = ad
	var owner int64 // routing's owner_id: only that backend API's rules (and the product's) add usage
	if c.Upstream != nil {
		owner = c.Upstream.OwnerID
	}
	hits, n := v.matcher.MatchOwned(ad.buf[:0], c.R.Method, c.R.URL.Path, query, owner)
	if n == 0 {
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
	if c.Upstream != nil && c.Upstream.OwnerID != ad.owner {
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
	if err := g.ledger.Admit(app.ID, ad.hits, now, ad.decider(v, app, ad.hits, now)); err != nil {
		if errors.Is(err, composition.ErrLimitsExceeded) {
			if c.Caching == policy.CachingStrict {
				g.caching.authorized.forget(app.ID)
			}
			g.m.limitsExceeded.Inc()
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
