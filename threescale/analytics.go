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

// statsQuery parses the query string.
func statsQuery(r *http.Request) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, BadRequest("malformed query string")
	}
	return q, nil
}

// metricNamed finds the metric a service's usage can name by system name
// (hits when name is empty), the service's own before its backends'. porta
// answers an unknown one with 400 "metric NAME not found".
func metricNamed(snap *composition.Snapshot, serviceID int64, name string) (*composition.Metric, error) {
	if name == "" {
		name = "hits"
	}
	var metric *composition.Metric
	for _, m := range snap.ServiceMetricIDs(serviceID) {
		if m.SystemName == name && (metric == nil || m.OwnerType == composition.OwnerService) {
			metric = m
		}
	}
	if metric == nil {
		return nil, BadRequest(fmt.Sprintf("metric %s not found", clip(name)))
	}
	return metric, nil
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
	sr, err := parseStatsRange(q, a.now())
	if err != nil {
		WriteError(w, f, err)
		return
	}
	values, err := a.usageValues(scope, id, metric.ID, sr)
	if err != nil {
		WriteError(w, f, err)
		return
	}
	out.fill(metric, sr, values)
	writeStats(w, f, &out)
}

// usageValues reads the values of sr's buckets: eternity from its counter,
// every other granularity summed from the UTC counters in sr's zone.
func (a *Analytics) usageValues(scope Scope, id, metricID int64, sr *statsRange) ([]int64, error) {
	if sr.granularity == granEternity {
		return a.counters.Values(scope, id, metricID, granEternity, []time.Time{{}})
	}
	if scope == ScopeService {
		return a.counters.ServiceSums(id, metricID, sr.bounds)
	}
	return a.counters.AppSums(id, metricID, sr.bounds)
}
