package gateway

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/portolan/portolan/agent/gateway/policy"
	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/registry"
)

// view is everything the request path reads, built once per
// composition revision and placement: never modified after it is published.
type view struct {
	revision   uint64
	snap       *composition.Snapshot
	serviceID  int64
	service    string // system_name
	matcher    *composition.Matcher
	apps       *composition.AppIndex // credentials → application, built once per snapshot
	needsQuery bool                  // some mapping rule has query parameters
	creds      credentialSource
	oidc       *oidcService                        // OpenID Connect services' token checks; nil for key services
	referrers  bool                                // the service has referrer_filters_required: check the Referer
	plans      map[int64]bool                      // the plans this instance serves
	limits     map[int64][]*composition.UsageLimit // the usage limits of each of the service's plans that has some
	planKey    string                              // service and plans, to notice a placement change

	hostRewrite string   // Host sent upstream, when set
	secretToken []string // X-3scale-Proxy-Secret-Token sent upstream, when set

	errAuthMissing, errAuthFailed, errNoMatch, errLimits errorResponse

	chain      *policy.Chain   // the service's policy chain, apicast among them
	handshake  *handshakePlan  // what the service's TLS handshakes serve and ask (handshake_plan.go)
	metrics    *serviceMetrics // the service's series, resolved once
	failClosed *errorResponse  // set when the chain cannot run: every request gets it
}

// errorResponse is a prepared answer: status, content type and body.
type errorResponse struct {
	status      int
	contentType []string
	body        []byte
}

func (e *errorResponse) write(w http.ResponseWriter) { writeText(w, e.status, e.contentType, e.body) }

// respond answers the chain's request with e.
func (e *errorResponse) respond(c *policy.Context) { c.Respond(e.status, e.contentType[0], e.body) }

// newErrorResponse takes a proxy setting's status, content type and body,
// falling back to 3scale's defaults for those left empty (or invalid).
// The body ends with a newline, as APIcast's ngx.say writes it.
func newErrorResponse(body string, status int64, contentType, defBody string, defStatus int) errorResponse {
	e := errorResponse{status: defStatus, contentType: plainText, body: []byte(defBody + "\n")}
	if status >= 100 && status <= 599 {
		e.status = int(status)
	}
	if ct := strings.TrimSpace(contentType); ct != "" && !strings.ContainsAny(ct, "\r\n") {
		e.contentType = []string{ct}
	}
	if body != "" {
		e.body = []byte(body + "\n")
	}
	return e
}

func (v *view) servesPlan(id int64) bool { return v.plans[id] }

func (v *view) noInstanceBody(plan *composition.ApplicationPlan) []byte {
	return fmt.Appendf(nil, "No instance serves plan %q of service %q\n", plan.SystemName, v.service)
}

// buildView prepares the view of the service p places this instance in.
// A chain the gateway cannot run is not an error: the view answers 503
// naming the policy (fail closed), and failed says why.
func (g *Gateway) buildView(snap *composition.Snapshot, p registry.Placement) (v *view, failed error, err error) {
	svc, ok := snap.Services.Get(p.ServiceID)
	if !ok || p.ServiceID == 0 {
		return nil, nil, fmt.Errorf("the instance's placement names no service of composition revision %d", snap.Revision)
	}
	proxy, ok := snap.Proxies.Get(svc.ID)
	if !ok {
		proxy = composition.DefaultProxy(svc.ID)
	}
	matcher, err := composition.NewMatcher(snap, svc.ID)
	if err != nil {
		return nil, nil, fmt.Errorf("mapping rules of service %q: %w", svc.SystemName, err)
	}
	v = &view{
		revision: snap.Revision, snap: snap, serviceID: svc.ID, service: svc.SystemName, matcher: matcher,
		apps:  composition.NewAppIndex(snap, svc.ID),
		creds: newCredentialSource(proxy, svc.BackendVersion),
		plans: map[int64]bool{}, limits: map[int64][]*composition.UsageLimit{}, planKey: placementKey(p),
		referrers: svc.ReferrerFiltersRequired, metrics: g.am.forService(svc.ID, svc.SystemName),
	}
	// Both go into request heads: never with a line break.
	if h := strings.TrimSpace(proxy.HostnameRewrite); !strings.ContainsAny(h, "\r\n") {
		v.hostRewrite = h
	}
	if proxy.SecretToken != "" && !strings.ContainsAny(proxy.SecretToken, "\r\n") {
		v.secretToken = []string{proxy.SecretToken}
	}
	for _, plan := range p.Plans {
		v.plans[plan.ID] = true
	}
	for _, plan := range snap.PlansOf(svc.ID) {
		if ls := snap.UsageLimits.Filter(func(l *composition.UsageLimit) bool { return l.PlanID == plan.ID }); len(ls) > 0 {
			v.limits[plan.ID] = ls
		}
	}
	rules := snap.MappingRulesOf(composition.OwnerService, svc.ID)
	for _, u := range snap.BackendUsages.Filter(func(u *composition.BackendUsage) bool { return u.ServiceID == svc.ID }) {
		rules = append(rules, snap.MappingRulesOf(composition.OwnerBackendAPI, u.BackendAPIID)...)
	}
	v.needsQuery = slices.ContainsFunc(rules, func(r *composition.MappingRule) bool { return strings.Contains(r.Pattern, "?") })

	v.errAuthMissing = newErrorResponse(proxy.ErrorAuthMissing, proxy.ErrorStatusAuthMissing, proxy.ErrorHeadersAuthMissing,
		"Authentication parameters missing", http.StatusForbidden)
	v.errAuthFailed = newErrorResponse(proxy.ErrorAuthFailed, proxy.ErrorStatusAuthFailed, proxy.ErrorHeadersAuthFailed,
		"Authentication failed", http.StatusForbidden)
	v.errNoMatch = newErrorResponse(proxy.ErrorNoMatch, proxy.ErrorStatusNoMatch, proxy.ErrorHeadersNoMatch,
		"No Mapping Rule matched", http.StatusNotFound)
	v.errLimits = newErrorResponse(proxy.ErrorLimitsExceeded, proxy.ErrorStatusLimitsExceeded, proxy.ErrorHeadersLimitsExceeded,
		"Usage limit exceeded", http.StatusTooManyRequests)

	usage := &policyUsage{g: g, snap: snap, serviceID: svc.ID}
	env := &policy.Env{ServiceID: svc.ID, ServiceSystemName: svc.SystemName, BackendVersion: svc.BackendVersion,
		CredentialNames: []string{v.creds.userKey, v.creds.appID, v.creds.appKey}, Log: g.log, Metrics: g.policyMetrics, Shared: &g.shared,
		Usage: usage, Global: g.global, ContentCaching: g.cfg.ContentCaching,
		Upstream: g.localURL, PublicBaseURLs: []string{proxy.Endpoint, proxy.SandboxEndpoint}, AuthFailed: v.errAuthFailed.respond, ReportInterval: g.cfg.ReportInterval,
		IdentityClient: g.oidc.client, InsecureIssuers: g.oidc.insecure, JWTVerifier: g.oidc}
	chain := composition.NormalizePolicyChain(proxy.PolicyChain)
	v.chain, failed = policy.Build(chain, &apicastElement{g: g, v: v, usage: usage}, env)
	if failed != nil {
		status := policy.FailedStatus(chain) // 503, or on_failed's
		v.failClosed = &errorResponse{status: status, contentType: plainText,
			body: fmt.Appendf(nil, "%s: the policy chain of service %q cannot run: %v\n", cmp.Or(http.StatusText(status), "Error"), svc.SystemName, failed)}
		var u *policy.Unsupported
		if errors.As(failed, &u) {
			g.policyMetrics.Policy.WithLabelValues(u.Policy, "fail_closed").Inc()
		}
	}
	if svc.BackendVersion == backendOIDC && v.failClosed == nil {
		var err error
		if v.oidc, err = g.newOIDCService(proxy); err != nil {
			failed = fmt.Errorf("OpenID Connect: %w", err)
			v.failClosed = &errorResponse{status: http.StatusServiceUnavailable, contentType: plainText,
				body: fmt.Appendf(nil, "Service Unavailable: service %q uses OpenID Connect but %v\n", svc.SystemName, err)}
		}
	}
	v.handshake = g.planHandshake(v)
	return v, failed, nil
}

// placementKey identifies where an instance serves: service and plans.
func placementKey(p registry.Placement) string {
	var b strings.Builder
	b.WriteString(strconv.FormatInt(p.ServiceID, 10))
	for _, plan := range p.Plans {
		b.WriteByte(',')
		b.WriteString(strconv.FormatInt(plan.ID, 10))
	}
	return b.String()
}

// Update installs the view of snap for placement p, unless the current one
// is already of that revision and plans: it reports whether it built one.
// When the composition cannot serve the placement, the gateway answers 503
// until a later Update succeeds, and the error says why.
func (g *Gateway) Update(snap *composition.Snapshot, p registry.Placement) (bool, error) {
	if cur := g.view.Load(); cur != nil && cur.revision == snap.Revision && cur.planKey == placementKey(p) {
		return false, nil
	}
	v, failed, err := g.buildView(snap, p)
	if err != nil {
		g.view.Store(nil)
		return false, err
	}
	if failed != nil {
		// Logged at every revision that keeps it: an operator must see it.
		g.log.Error().Err(failed).Str("service", v.service).Uint64("revision", v.revision).Int("status", v.failClosed.status).
			Msg("gateway: the service's policy chain cannot run; answering status (503, or on_failed's) until it is fixed")
	}
	g.view.Store(v)
	g.refreshRoutes()
	g.log.Debug().Uint64("revision", v.revision).Str("service", v.service).Str("plans", v.planKey).Msg("gateway: view updated")
	return true, nil
}
