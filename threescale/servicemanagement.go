package threescale

import (
	"bytes"
	"context"
	"encoding/xml"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portolan/portolan/composition"
)

// Scope says whose counters Values reads.
type Scope int

// Scopes of usage counters.
const (
	ScopeApplication Scope = iota
	ScopeService
)

// UsageIncrement is usage of an application's metric at a time.
type UsageIncrement struct {
	ApplicationID, MetricID int64
	At                      time.Time
	Delta                   int64
}

// UsageCounters keeps the usage counters the Service Management API and the
// Analytics API work on: one store, shared with the agents' usage batches.
type UsageCounters interface {
	// Value is a composition.Counter over the current counters.
	Value(appID, metricID int64, period string, start time.Time) int64
	// Admit calls decide with the current counters; when it returns true the
	// usage is added, durably, before Admit returns. Decisions are ordered,
	// so concurrent calls cannot together pass a limit.
	Admit(ctx context.Context, serviceID, appID int64, usage []composition.Hit, now time.Time,
		decide func(current composition.Counter) bool) (bool, error)
	// Add adds usage unconditionally, durably.
	Add(ctx context.Context, serviceID int64, usage []UsageIncrement) error
	// Values returns an application's or a service's counters of a metric in
	// the periods starting at starts (the zero time for eternity).
	// Services are counted by hour, day, month and eternity only.
	Values(scope Scope, id, metricID int64, period string, starts []time.Time) ([]int64, error)
	// AppSums and ServiceSums return the usage of a metric in each span
	// [bounds[i], bounds[i+1]), summed from the UTC hourly (and coarser)
	// counters: the Analytics API's buckets in any time zone.
	AppSums(appID, metricID int64, bounds []time.Time) ([]int64, error)
	ServiceSums(serviceID, metricID int64, bounds []time.Time) ([]int64, error)
}

// Service Management API bounds.
const (
	// MaxTransactions is apisonator's bound on the transactions of one report.
	MaxTransactions = 1000
	// MaxUsageMetrics bounds the metrics one transaction names.
	MaxUsageMetrics = 64
	// SMContentType is apisonator's content type.
	SMContentType = "application/vnd.3scale-v2.0+xml"
	// smTimeFormat is how apisonator writes period bounds.
	smTimeFormat = "2006-01-02 15:04:05 -0700"
)

// ServiceManagement serves 3scale's Service Management API the way
// apisonator does: GET /transactions/authrep.xml, GET
// /transactions/authorize.xml, their OAuth variants oauth_authrep.xml and
// oauth_authorize.xml (servicemanagement_oauth.go) and POST /transactions.xml.
//
// A call is identified by a service_token or provider_key (any access token
// the TokenChecker accepts with scope account_management: Portolan keeps no
// per-service tokens; a read-only one answers authorize only, since the
// others add usage) and a service_id (with provider_key it defaults to the
// first service). The
// application is named by user_key, or app_id with app_key; usage comes as
// usage[metric_system_name]=n (a backend's metric also by its extended
// name, usage[search.20]=n, as stock APIcast reports it) and a method's
// usage counts to its parent too. A repeated parameter takes its last
// value, as Rack reads it (rackParams).
// Answers are apisonator's XML documents: <status> with authorized, reason,
// plan and usage_reports (200, or 409 when refused), or <error code="...">
// (403, 404, 422), or, for a usage that is not a hash, apisonator's bare 403
// (servicemanagement_params.go, where the authorization calls' keys are
// stripped as apisonator strips them). On services with
// referrer_filters_required the referrer parameter must match one of the
// application's referrer filters, if it has any. The 3scale-options header
// may ask for the 3scale-rejection-reason and 3scale-limit-* headers, for
// flat_usage, and for no_body (an authorization answered without its
// <status> document) (servicemanagement_options.go).
type ServiceManagement struct {
	snapshot func() *composition.Snapshot
	tokens   *TokenChecker
	counters UsageCounters
	now      func() time.Time
	mux      *http.ServeMux
	indexes  atomic.Pointer[appIndexes]
}

// appIndexes are the application indexes of one snapshot, by service.
type appIndexes struct {
	snap      *composition.Snapshot
	byService sync.Map // int64 → *composition.AppIndex
}

// AppIndex returns the application index of a service in snap, built once
// per snapshot.
func (sm *ServiceManagement) AppIndex(snap *composition.Snapshot, serviceID int64) *composition.AppIndex {
	ix := sm.indexes.Load()
	if ix == nil || ix.snap != snap {
		ix = &appIndexes{snap: snap}
		sm.indexes.Store(ix)
	}
	if x, ok := ix.byService.Load(serviceID); ok {
		return x.(*composition.AppIndex)
	}
	x, _ := ix.byService.LoadOrStore(serviceID, composition.NewAppIndex(snap, serviceID))
	return x.(*composition.AppIndex)
}

// NewServiceManagement serves the Service Management API on store's
// snapshots and counters, accepting the access tokens of tokens.
func NewServiceManagement(store composition.Store, tokens *TokenChecker, counters UsageCounters) *ServiceManagement {
	sm := &ServiceManagement{snapshot: store.Snapshot, tokens: tokens, counters: counters, now: time.Now, mux: http.NewServeMux()}
	sm.mux.HandleFunc("GET /transactions/authrep.xml", func(w http.ResponseWriter, r *http.Request) { sm.serveAuth(w, r, authMode{report: true}) })
	sm.mux.HandleFunc("GET /transactions/authorize.xml", func(w http.ResponseWriter, r *http.Request) { sm.serveAuth(w, r, authMode{}) })
	sm.mux.HandleFunc("GET /transactions/oauth_authrep.xml", func(w http.ResponseWriter, r *http.Request) {
		sm.serveAuth(w, r, authMode{report: true, oauth: true})
	})
	sm.mux.HandleFunc("GET /transactions/oauth_authorize.xml", func(w http.ResponseWriter, r *http.Request) { sm.serveAuth(w, r, authMode{oauth: true}) })
	sm.mux.HandleFunc("POST /transactions.xml", sm.serveReport)
	return sm
}

// ServeHTTP routes the Service Management API; anything else is apisonator's 404.
func (sm *ServiceManagement) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := sm.mux.Handler(r); pattern == "" {
		writeSMError(w, &smError{http.StatusNotFound, "not_found", "not found"})
		return
	}
	sm.mux.ServeHTTP(w, r)
}

// smError is an apisonator error document.
type smError struct {
	status  int
	code    string
	message string
}

func (e *smError) Error() string { return e.code + ": " + e.message }

func denialError(d *composition.Denial) *smError {
	status := http.StatusForbidden
	switch d.Code {
	case composition.DenialApplicationNotFound, composition.DenialServiceIDInvalid, composition.DenialAccessTokenInvalid:
		status = http.StatusNotFound
	}
	return &smError{status, d.Code, d.Reason}
}

func writeSMError(w http.ResponseWriter, e *smError) {
	var buf bytes.Buffer
	buf.WriteString(`<?xml version="1.0" encoding="UTF-8"?><error code="`)
	_ = xml.EscapeText(&buf, []byte(e.code))
	buf.WriteString(`">`)
	_ = xml.EscapeText(&buf, []byte(e.message))
	buf.WriteString(`</error>`)
	writeSM(w, e.status, buf.Bytes())
}

func writeSM(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", SMContentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// service authenticates the caller and returns the service it names. A
// call that adds usage (write: authrep, oauth_authrep, report) needs a token
// with permission rw; a read-only one answers authorize only. The statuses
// are apisonator's error classes' (lib/3scale/backend/errors.rb):
// ServiceIdMissing is Invalid (422); ServiceTokenInvalid and
// ServiceIdInvalid are plain Errors (403), so a service the token does not
// reach is 403, as an unknown one is.
func (sm *ServiceManagement) service(snap *composition.Snapshot, params url.Values, write bool) (*composition.Service, *smError) {
	// An empty service_token= is as if absent: a provider_key beside it
	// still identifies the caller.
	token, key := nonEmpty(params["service_token"]), nonEmpty(params["provider_key"])
	cands, code, what := token, "service_token_invalid", "service token"
	switch {
	case token != nil:
	case key != nil:
		cands, code, what = key, "provider_key_invalid", "provider key"
	default:
		return nil, &smError{http.StatusForbidden, "provider_key_or_service_token_required",
			"Provider key or service token are required"}
	}
	g, ok := sm.tokens.scopeGrant(cands, composition.ScopeAccountManagement)
	switch {
	case !ok:
		return nil, &smError{http.StatusForbidden, code, what + " is invalid"}
	case write && !g.Allows(composition.ScopeAccountManagement, true):
		return nil, &smError{http.StatusForbidden, code,
			what + " is read-only (permission ro): adding usage (authrep, report) needs a token with permission rw"}
	}
	raw := params.Get("service_id")
	if raw == "" {
		if token != nil {
			return nil, &smError{http.StatusUnprocessableEntity, "service_id_missing", "Service ID is missing"}
		}
		if svcs := snap.Services.All(); len(svcs) > 0 && g.member.service(svcs[0].ID) {
			return svcs[0], nil
		}
		return nil, &smError{http.StatusForbidden, "provider_key_invalid_or_service_missing",
			"provider key is invalid or service is missing"}
	}
	id, err := strconv.ParseInt(raw, 10, 64)
	svc, ok := snap.Services.Get(id)
	// A provider member's token reaches its services only: another's is
	// as unknown to it as to porta, which finds services among the user's.
	if err != nil || !ok || !g.member.service(id) {
		if token != nil {
			// apisonator's ServiceTokenInvalid: the token does not reach
			// the service, whether or not the service exists.
			return nil, &smError{http.StatusForbidden, "service_token_invalid",
				`service token or service id "` + clip(raw) + `" is invalid`}
		}
		return nil, &smError{http.StatusForbidden, composition.DenialServiceIDInvalid, `service id "` + clip(raw) + `" is invalid`}
	}
	return svc, nil
}

// nonEmpty returns vs, the values of a parameter (one: rackParams read
// them), or nil when it has no non-empty one.
func nonEmpty(vs []string) []string {
	if slices.ContainsFunc(vs, func(v string) bool { return v != "" }) {
		return vs
	}
	return nil
}

func credentialsOf(params url.Values, prefix string) composition.Credentials {
	get := func(name string) string {
		if prefix == "" {
			return params.Get(name)
		}
		return params.Get(prefix + "[" + name + "]")
	}
	return composition.Credentials{UserKey: get("user_key"), AppID: get("app_id"), AppKey: get("app_key")}
}

// serveAuth answers authorize (read-only) and authrep (adds the usage when
// authorized), and their OAuth variants. The checks run in apisonator's
// order: the listener's (keys stripped, the caller's credentials, user_id,
// usage a hash: servicemanagement_params.go), then the key (or OAuth's
// setting, key and redirect URL), the referrer, the state, the limits, the
// usage being read with the limits only (with no_body its metric names are
// looked up before the key, as apisonator's preload does).
func (sm *ServiceManagement) serveAuth(w http.ResponseWriter, r *http.Request, mode authMode) {
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		writeSMError(w, &smError{http.StatusBadRequest, "bad_request", "malformed query string"})
		return
	}
	params := rackParams(query, nil)
	normalizeKeyParams(params)
	snap := sm.snapshot()
	svc, e := sm.service(snap, params, mode.report)
	if e == nil {
		e = endUsersError(params)
	}
	if e != nil {
		writeSMError(w, e)
		return
	}
	if refuseUsageShape(w, params) {
		return
	}
	var app *composition.Application
	var plan *composition.ApplicationPlan
	var denial *composition.Denial
	switch {
	case mode.oauth:
		app, plan, denial = sm.oauthAuthenticate(snap, svc, params)
	case oidcService(svc):
		app, plan, denial = sm.oidcAuthenticate(snap, svc, params)
	default:
		app, plan, denial = sm.AppIndex(snap, svc.ID).Authenticate(credentialsOf(params, ""))
	}
	if denial != nil && !denial.Rejection() {
		writeSMError(w, denialError(denial))
		return
	}
	denial = referrerStep(svc, app, params, denial)
	opts := smOptions(r)
	bodyless := noBody(opts, rackOptions(r.URL.RawQuery)) // params read a bare no_body as "", Rack as nil
	if bodyless {
		// apisonator's no_body preload looks the usage's metrics up
		// before its validators: an unknown one is 404 whatever the
		// application and the values.
		if e := unknownMetricError(snap, svc.ID, params, "usage"); e != nil {
			writeSMError(w, e)
			return
		}
	}
	hits, set, e := usageOf(snap, svc.ID, params, "usage", option(opts, "flat_usage"), !mode.report)
	switch {
	case e != nil && denial != nil:
		// apisonator reads the usage in its last validator (Limits) and
		// stops at the first that fails: a call refused before it is
		// answered with that refusal (409), whatever its usage holds.
		hits, set = nil, nil
	case e != nil:
		writeSMError(w, e)
		return
	}
	now := sm.now()
	var reports []composition.UsageReport
	var exceeded bool
	switch {
	case denial != nil:
		reports, _ = snap.CheckLimits(app, hits, sm.counters.Value, now)
	case mode.report:
		_, err = sm.counters.Admit(r.Context(), svc.ID, app.ID, hits, now, func(current composition.Counter) bool {
			reports, exceeded = snap.CheckLimits(app, hits, current, now)
			return !exceeded
		})
		if err != nil {
			writeSMError(w, &smError{http.StatusInternalServerError, "internal_error", "usage could not be stored"})
			return
		}
	default:
		reports, exceeded = snap.CheckLimits(app, hits, setCounter(sm.counters.Value, set), now)
		// The decision took the values set; the document shows the stored
		// ones (exceeded is the stored value over the maximum).
		storedCurrent(reports, set, app.ID, sm.counters.Value)
	}
	if denial == nil && exceeded {
		denial = &composition.LimitsExceeded
	}
	backendMetricNames(snap, reports)
	status := http.StatusOK
	if denial != nil {
		status = http.StatusConflict
	}
	added := denial == nil && mode.report // the call's usage is in the counters now
	sm.writeOptionHeaders(w, opts, denial, reports, hits, added, now)
	if bodyless {
		writeSM(w, status, nil)
		return
	}
	var oauthApp *composition.Application
	if mode.oauth {
		oauthApp = app
	}
	writeSM(w, status, statusXML(denial, plan, reports, oauthApp, added))
}

// statusXML renders apisonator's <status> document as apisonator does
// (Transactor::Status::UsageReport): exceeded="true" when the stored value is
// over the maximum, and current_value includes the call's usage only when
// added, an authorized authrep's: authorize's usage is predicted, not
// reported (apisonator's Status#usage is nil for it, and
// compute_current_value then shows the stored value).
// With oauthApp (the OAuth variants) the application's id, first key and
// redirect URL follow the reason.
func statusXML(denial *composition.Denial, plan *composition.ApplicationPlan, reports []composition.UsageReport,
	oauthApp *composition.Application, added bool) []byte {
	var buf bytes.Buffer
	buf.Grow(256 + 256*len(reports))
	buf.WriteString(`<?xml version="1.0" encoding="UTF-8"?><status>`)
	if denial == nil {
		buf.WriteString(`<authorized>true</authorized>`)
	} else {
		buf.WriteString(`<authorized>false</authorized><reason>`)
		_ = xml.EscapeText(&buf, []byte(denial.Reason))
		buf.WriteString(`</reason>`)
	}
	if oauthApp != nil {
		writeOAuthApplication(&buf, oauthApp)
	}
	buf.WriteString(`<plan>`)
	if plan != nil {
		_ = xml.EscapeText(&buf, []byte(plan.Name))
	}
	buf.WriteString(`</plan>`)
	if len(reports) > 0 {
		buf.WriteString(`<usage_reports>`)
		for _, r := range reports {
			buf.WriteString(`<usage_report metric="`)
			_ = xml.EscapeText(&buf, []byte(r.Metric))
			buf.WriteString(`" period="`)
			buf.WriteString(r.Period)
			buf.WriteByte('"')
			if r.Current > r.Max {
				buf.WriteString(` exceeded="true"`)
			}
			buf.WriteByte('>')
			if !r.Start.IsZero() {
				buf.WriteString(`<period_start>`)
				buf.WriteString(r.Start.UTC().Format(smTimeFormat))
				buf.WriteString(`</period_start><period_end>`)
				buf.WriteString(r.End.UTC().Format(smTimeFormat))
				buf.WriteString(`</period_end>`)
			}
			buf.WriteString(`<max_value>`)
			buf.WriteString(strconv.FormatInt(r.Max, 10))
			buf.WriteString(`</max_value><current_value>`)
			current := r.Current
			if added {
				current = composition.AddSaturating(current, r.Usage)
			}
			buf.WriteString(strconv.FormatInt(current, 10))
			buf.WriteString(`</current_value></usage_report>`)
		}
		buf.WriteString(`</usage_reports>`)
	}
	buf.WriteString(`</status>`)
	return buf.Bytes()
}
