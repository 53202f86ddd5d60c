package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/registry"
)

// gatewayView is everything the request path reads, built once per
// composition revision and placement: never modified after it is published.
type gatewayView struct {
	revision   uint64
	snap       *composition.Snapshot
	serviceID  int64
	service    string // system_name
	matcher    *composition.Matcher
	apps       *composition.AppIndex // credentials → application, built once per snapshot
	needsQuery bool                  // some mapping rule has query parameters
	creds      credentialSource
	oidc       bool
	plans      map[int64]bool                      // the plans this instance serves
	limits     map[int64][]*composition.UsageLimit // the usage limits of each of the service's plans that has some
	planKey    string                              // service and plans, to notice a placement change

	hostRewrite string   // Host sent upstream, when set
	secretToken []string // X-3scale-Proxy-Secret-Token sent upstream, when set

	errAuthMissing, errAuthFailed, errNoMatch, errLimits, errOIDC errorResponse
}

// errorResponse is a prepared answer: status, content type and body.
type errorResponse struct {
	status      int
	contentType []string
	body        []byte
}

func (e *errorResponse) write(w http.ResponseWriter) { writeText(w, e.status, e.contentType, e.body) }

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

func (v *gatewayView) servesPlan(id int64) bool { return v.plans[id] }

func (v *gatewayView) noInstanceBody(plan *composition.ApplicationPlan) []byte {
	return fmt.Appendf(nil, "No instance serves plan %q of service %q\n", plan.SystemName, v.service)
}

// buildView prepares the view of the service p places this instance in.
func buildView(snap *composition.Snapshot, p registry.Placement) (*gatewayView, error) {
	svc, ok := snap.Services.Get(p.ServiceID)
	if !ok || p.ServiceID == 0 {
		return nil, fmt.Errorf("the instance's placement names no service of composition revision %d", snap.Revision)
	}
	proxy, ok := snap.Proxies.Get(svc.ID)
	if !ok {
		proxy = composition.DefaultProxy(svc.ID)
	}
	matcher, err := composition.NewMatcher(snap, svc.ID)
	if err != nil {
		return nil, fmt.Errorf("mapping rules of service %q: %w", svc.SystemName, err)
	}
	v := &gatewayView{
		revision: snap.Revision, snap: snap, serviceID: svc.ID, service: svc.SystemName, matcher: matcher,
		apps:  composition.NewAppIndex(snap, svc.ID),
		creds: newCredentialSource(proxy, svc.BackendVersion), oidc: svc.BackendVersion == backendOIDC,
		plans: map[int64]bool{}, limits: map[int64][]*composition.UsageLimit{}, planKey: placementKey(p),
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
	v.errOIDC = newErrorResponse("", 0, proxy.ErrorHeadersAuthFailed,
		"Authentication failed: OpenID Connect is not supported by the Portolan gateway yet", http.StatusForbidden)
	return v, nil
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

// watch returns the newest revision, its document and a channel closed when
// a newer one is installed.
func (c *compositionCache) watch() (uint64, []byte, <-chan struct{}) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.revision, c.doc, c.changed
}

// gatewayPlacement is where the instance serves in snap: home's placement,
// or, when the snapshot is newer than it (or home was never reached), the
// same resolution home makes, drawn on the snapshot.
func (a *Agent) gatewayPlacement(snap *composition.Snapshot) registry.Placement {
	if p := a.st.self().Placement; p != nil && p.Revision >= snap.Revision {
		return *p
	}
	return registry.PlacementFor(snap, a.reg.Service, a.reg.Labels)
}

// followForGateway rebuilds the gateway's view whenever the composition
// changes, and checks the placement every second (home tells it in
// heartbeats).
func (a *Agent) followForGateway(ctx context.Context, g *gateway) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var (
		snap    *composition.Snapshot
		lastErr string
	)
	for {
		rev, doc, changed := a.comp.watch()
		if doc != nil && (snap == nil || rev != snap.Revision) {
			s, err := decodeSnapshot(doc)
			if err != nil {
				a.log.Warn().Err(err).Uint64("revision", rev).Msg("gateway: keeping the previous composition")
			} else {
				snap = s
			}
		}
		if snap != nil {
			p := a.gatewayPlacement(snap)
			if cur := g.view.Load(); cur == nil || cur.revision != snap.Revision || cur.planKey != placementKey(p) {
				v, err := buildView(snap, p)
				switch {
				case err != nil:
					g.view.Store(nil)
					if err.Error() != lastErr {
						a.log.Warn().Err(err).Msg("gateway: answering 503 until the composition serves this instance")
					}
					lastErr = err.Error()
				default:
					g.view.Store(v)
					g.refreshRoutes()
					lastErr = ""
					a.log.Debug().Uint64("revision", v.revision).Str("service", v.service).Str("plans", v.planKey).Msg("gateway: view updated")
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-tick.C:
		}
	}
}

// decodeSnapshot turns a composition document into a snapshot.
func decodeSnapshot(doc []byte) (*composition.Snapshot, error) {
	var d composition.Document
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("decode composition: %w", err)
	}
	c, err := d.Composition()
	if err != nil {
		return nil, fmt.Errorf("decode composition: %w", err)
	}
	return c, nil
}
