package threescale

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/portolan/portolan/composition"
)

// Analytics serves 3scale's Analytics API as porta answers it, from the
// usage counters: usage of a service, an application or a backend API, and
// a service's top applications, in .json or .xml, with metric_name, since,
// period or until, granularity and timezone. An access token with scope
// stats is required.
type Analytics struct {
	snapshot func() *composition.Snapshot
	tokens   *TokenChecker
	counters UsageCounters
	now      func() time.Time
	mux      *http.ServeMux
}

// analyticsHandler serves one resource of a route in the format its suffix
// names.
type analyticsHandler func(w http.ResponseWriter, r *http.Request, f Format, id int64)

// NewAnalytics serves analytics on store's snapshots and counters.
func NewAnalytics(store composition.Store, tokens *TokenChecker, counters UsageCounters) *Analytics {
	a := &Analytics{snapshot: store.Snapshot, tokens: tokens, counters: counters, now: time.Now, mux: http.NewServeMux()}
	// The mux cannot match "usage.{format}", so each route takes the last
	// segment whole and resources picks the handler by its name.
	a.route("/stats/services/{id}/{resource}", map[string]analyticsHandler{
		"usage": func(w http.ResponseWriter, r *http.Request, f Format, id int64) {
			a.serveUsage(w, r, f, ScopeService, id)
		},
		"top_applications": a.serveTop,
	})
	a.route("/stats/applications/{id}/{resource}", map[string]analyticsHandler{
		"usage": func(w http.ResponseWriter, r *http.Request, f Format, id int64) {
			a.serveUsage(w, r, f, ScopeApplication, id)
		},
	})
	a.route("/stats/backend_apis/{id}/{resource}", map[string]analyticsHandler{"usage": a.serveBackendUsage})
	return a
}

// route registers GET pattern, whose {resource} is a name of handlers and
// a format suffix: .json or .xml; any other suffix is 406, as porta's
// respond_to answers a format it does not render.
func (a *Analytics) route(pattern string, handlers map[string]analyticsHandler) {
	a.mux.HandleFunc("GET "+pattern, func(w http.ResponseWriter, r *http.Request) {
		name, ext, _ := strings.Cut(r.PathValue("resource"), ".")
		h, ok := handlers[name]
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if !ok || err != nil {
			WriteError(w, JSON, ErrNotFound)
			return
		}
		var f Format
		switch ext {
		case "json":
			f = JSON
		case "xml":
			f = XML
		default:
			WriteError(w, JSON, &statusError{status: http.StatusNotAcceptable,
				msg: fmt.Sprintf("format %q is not served: use %s.json or %s.xml", clip(ext), name, name)})
			return
		}
		h(w, r, f, id)
	})
}

// ServeHTTP checks the access token and routes.
func (a *Analytics) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f, _ := FormatOf(r)
	if err := a.tokens.Authorize(r, composition.ScopeStats, false); err != nil {
		WriteError(w, f, err)
		return
	}
	if _, pattern := a.mux.Handler(r); pattern == "" {
		WriteError(w, f, ErrNotFound)
		return
	}
	a.mux.ServeHTTP(w, r)
}

// statsQuery parses the query string as porta's Rack does: a repeated
// name takes its last value (rackParams), granularity=day&granularity=month
// asks for months.
func statsQuery(r *http.Request) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, BadRequest("malformed query string")
	}
	return rackParams(q, nil), nil
}

// metricNamed finds the metric a service's usage can name (hits when name
// is empty) as the gateway and the Service Management API resolve a name
// (metricNames): the service's own, then each backend's in the order its
// backend usage was added, never one picked by map order; then a
// backend's by porta's extended name ("hits.42", 42 the backend). porta
// answers an unknown one with 400 "metric NAME not found".
func metricNamed(snap *composition.Snapshot, serviceID int64, name string) (*composition.Metric, error) {
	if name == "" {
		name = "hits"
	}
	var names metricNames
	if m := names.lookup(snap, serviceID, name); m != nil {
		return m, nil
	}
	for _, u := range snap.BackendUsages.Under(serviceID) {
		for _, m := range snap.MetricsOf(composition.OwnerBackendAPI, u.BackendAPIID) {
			if metricIsNamed(m, name) {
				return m, nil
			}
		}
	}
	return nil, BadRequest(fmt.Sprintf("metric %s not found", clip(name)))
}

// metricIsNamed reports whether m is called name: its system name or, for
// a backend's metric, porta's extended name ("hits.42", 42 the backend).
func metricIsNamed(m *composition.Metric, name string) bool {
	return m.SystemName == name ||
		m.OwnerType == composition.OwnerBackendAPI && m.SystemName+"."+strconv.FormatInt(m.OwnerID, 10) == name
}

func (a *Analytics) serveUsage(w http.ResponseWriter, r *http.Request, f Format, scope Scope, id int64) {
	q, err := statsQuery(r)
	if err != nil {
		WriteError(w, f, err)
		return
	}
	snap := a.snapshot()
	out := statsUsage{}
	var serviceID int64
	if scope == ScopeService {
		svc, ok := snap.Services.Get(id)
		if !ok {
			WriteError(w, f, ErrNotFound)
			return
		}
		serviceID = svc.ID
		out.Service = &statsService{ID: svc.ID, Name: svc.Name, SystemName: svc.SystemName, State: svc.State}
	} else {
		app, ok := snap.Applications.Get(id)
		if !ok {
			WriteError(w, f, ErrNotFound)
			return
		}
		serviceID = app.ServiceID
		out.Application = newStatsApplication(snap, app)
	}
	metric, err := metricNamed(snap, serviceID, q.Get("metric_name"))
	if err != nil {
		WriteError(w, f, err)
		return
	}
	a.writeUsage(w, f, q, &out, metric, []usageSource{{scope, id}})
}

// usageSource is a service's or an application's counters.
type usageSource struct {
	scope Scope
	id    int64
}

// writeUsage answers the usage of metric in the range q asks, added up
// over sources, with porta's previous_total and change unless skip_change
// is true (its default).
func (a *Analytics) writeUsage(w http.ResponseWriter, f Format, q url.Values, out *statsUsage, metric *composition.Metric, sources []usageSource) {
	sr, err := parseStatsRange(q, a.now())
	if err != nil {
		WriteError(w, f, err)
		return
	}
	values, err := a.sumValues(sources, metric.ID, sr.granularity, sr.bounds)
	if err != nil {
		WriteError(w, f, err)
		return
	}
	out.fill(metric, sr, values)
	if q.Get("skip_change") == "false" && sr.granularity != granEternity {
		prev, err := a.sumValues(sources, metric.ID, "", sr.previous())
		if err != nil {
			WriteError(w, f, err)
			return
		}
		out.setChange(prev[0])
	}
	writeStats(w, f, out)
}

// sumValues reads the usage in each span of bounds (eternity: the one
// all-time counter), added up over sources.
func (a *Analytics) sumValues(sources []usageSource, metricID int64, granularity string, bounds []time.Time) ([]int64, error) {
	var sum []int64
	for _, src := range sources {
		var vs []int64
		var err error
		switch {
		case granularity == granEternity:
			vs, err = a.counters.Values(src.scope, src.id, metricID, granEternity, []time.Time{{}})
		case src.scope == ScopeService:
			vs, err = a.counters.ServiceSums(src.id, metricID, bounds)
		default:
			vs, err = a.counters.AppSums(src.id, metricID, bounds)
		}
		if err != nil {
			return nil, err
		}
		if sum == nil {
			sum = make([]int64, len(vs))
		}
		for i, v := range vs {
			sum[i] = composition.AddSaturating(sum[i], v)
		}
	}
	if sum == nil { // no source: a backend no product uses
		n := len(bounds) - 1
		if granularity == granEternity {
			n = 1
		}
		sum = make([]int64, max(n, 0))
	}
	return sum, nil
}
