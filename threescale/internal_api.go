package threescale

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/portolan/portolan/composition"
)

// InternalAPIPrefix is where the internal API is served: apisonator's
// server URL ends in /internal.
const InternalAPIPrefix = "/internal/"

// BackendEvents is apisonator's event queue (first_traffic,
// first_daily_traffic, alert) as the internal API serves it.
type BackendEvents interface {
	// Events returns the events kept, oldest first.
	Events() []BackendEvent
	// DeleteEvent deletes one event and reports whether it was there.
	DeleteEvent(ctx context.Context, id int64) (bool, error)
	// DeleteEventsUpTo deletes the events with ids up to id, returning how many.
	DeleteEventsUpTo(ctx context.Context, id int64) (int, error)
}

// BackendEvent is one of apisonator's events.
type BackendEvent struct {
	ID            int64
	Type          string // first_traffic, first_daily_traffic or alert
	Time          time.Time
	ServiceID     int64
	ApplicationID int64
	Alert         *BackendAlert // alert events only
}

// BackendAlert is what an alert event says: its id, the utilization level
// (percent bin) reached, the utilization ratio and the limit that set it.
type BackendAlert struct {
	ID           int64
	Level        int
	Utilization  float64
	Metric       string
	Period       string
	Current, Max int64
}

// InternalAPI serves the part of apisonator's internal API (server
// http://localhost:3001/internal) that reads usage and alerts, under
// /internal/: an application's utilization, a service's alert limits (kept
// on the service in the composition, composition.Service.AlertLimits) and
// the backend events. apisonator guards it with HTTP Basic auth; Portolan
// takes an access token with scope account_management there (as user or
// password) or in access_token/provider_key, rw for writes. Answers and
// errors are apisonator's JSON.
//
// Applications are named by their id or, for app_id applications, their
// application_id; events name them by id.
type InternalAPI struct {
	store    composition.Store
	tokens   *TokenChecker
	counters UsageCounters
	events   BackendEvents
	now      func() time.Time
	mux      *http.ServeMux
}

// NewInternalAPI serves the internal API on store's snapshots, counters
// and events, accepting the access tokens of tokens.
func NewInternalAPI(store composition.Store, tokens *TokenChecker, counters UsageCounters, events BackendEvents) *InternalAPI {
	a := &InternalAPI{store: store, tokens: tokens, counters: counters, events: events, now: time.Now, mux: http.NewServeMux()}
	// apisonator's paths end in a slash; both forms are taken.
	both := func(method, path string, h http.HandlerFunc) {
		a.mux.HandleFunc(method+" /internal"+path, h)
		a.mux.HandleFunc(method+" /internal"+path+"/{$}", h)
	}
	both("GET", "/services/{service_id}/applications/{app_id}/utilization", a.utilization)
	both("GET", "/services/{service_id}/alert_limits", a.listAlertLimits)
	both("POST", "/services/{service_id}/alert_limits", a.createAlertLimit)
	a.mux.HandleFunc("DELETE /internal/services/{service_id}/alert_limits/{value}", a.deleteAlertLimit)
	both("GET", "/events", a.listEvents)
	both("DELETE", "/events", a.deleteEvents)
	a.mux.HandleFunc("DELETE /internal/events/{id}", a.deleteEvent)
	return a
}

// ServeHTTP checks the credentials and routes; anything else is
// apisonator's 404.
func (a *InternalAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g, ok := a.tokens.Authenticate(r)
	if _, pass, basic := r.BasicAuth(); !ok && basic {
		// apisonator's internal API takes a Basic user and password, and
		// porta sends both: the token is the password whatever the user
		// (Authenticate reads the user first, as porta's own API does).
		g, ok = a.tokens.AuthenticateToken(pass)
	}
	if !ok {
		w.Header().Set("WWW-Authenticate", `Basic realm="3scale backend internal API"`)
		writeInternal(w, http.StatusUnauthorized, internalError{Status: "unauthorized",
			Error: "an access token is required: send it as the HTTP Basic password (or access_token)"})
		return
	}
	write := r.Method != http.MethodGet && r.Method != http.MethodHead
	if !g.Allows(composition.ScopeAccountManagement, write) {
		msg := "the access token needs scope account_management"
		if write {
			msg += " with permission rw"
		}
		writeInternal(w, http.StatusForbidden, internalError{Status: "forbidden", Error: msg})
		return
	}
	if g.Member() {
		// apisonator's internal API is porta's, not a user's: its events
		// span every service, so a member limited to some may not use it.
		writeInternal(w, http.StatusForbidden, internalError{Status: "forbidden", Error: "the internal API takes an admin's access token, not a member's"})
		return
	}
	if _, pattern := a.mux.Handler(r); pattern == "" {
		writeInternal(w, http.StatusNotFound, internalError{Status: "not_found", Error: "Not found"})
		return
	}
	a.mux.ServeHTTP(w, r)
}

// internalError is apisonator's error document.
type internalError struct {
	Status string `json:"status,omitempty"`
	Error  string `json:"error"`
}

func writeInternal(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"status":"error","error":"encoding the answer failed"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func notFound(w http.ResponseWriter, msg string) {
	writeInternal(w, http.StatusNotFound, internalError{Status: "not_found", Error: msg})
}

// serviceOf returns the service {service_id} names.
func serviceOf(snap *composition.Snapshot, r *http.Request) (*composition.Service, bool) {
	id, err := strconv.ParseInt(r.PathValue("service_id"), 10, 64)
	if err != nil {
		return nil, false
	}
	return snap.Services.Get(id)
}

// internalUtilization is one of apisonator's utilization records.
type internalUtilization struct {
	Period       string `json:"period"`
	MetricName   string `json:"metric_name"`
	MaxValue     int64  `json:"max_value"`
	CurrentValue int64  `json:"current_value"`
}

// utilization answers an application's usage limits with their current
// values, in apisonator's order: by metric id, then from eternity down to
// minute.
func (a *InternalAPI) utilization(w http.ResponseWriter, r *http.Request) {
	snap := a.store.Snapshot()
	svc, ok := serviceOf(snap, r)
	if !ok {
		notFound(w, "service not found")
		return
	}
	app := applicationOf(snap, svc.ID, r.PathValue("app_id"))
	if app == nil {
		notFound(w, "application not found")
		return
	}
	reports, _ := snap.CheckLimits(app, nil, a.counters.Value, a.now())
	sort.SliceStable(reports, func(i, j int) bool {
		if reports[i].MetricID != reports[j].MetricID {
			return reports[i].MetricID < reports[j].MetricID
		}
		return slices.Index(composition.Periods, reports[i].Period) > slices.Index(composition.Periods, reports[j].Period)
	})
	out := make([]internalUtilization, len(reports))
	for i, rep := range reports {
		out[i] = internalUtilization{Period: rep.Period, MetricName: rep.Metric, MaxValue: rep.Max, CurrentValue: rep.Current}
	}
	writeInternal(w, http.StatusOK, struct {
		Status      string                `json:"status"`
		Utilization []internalUtilization `json:"utilization"`
	}{"found", out})
}

// applicationOf finds an application of the service by id, or by
// application_id.
func applicationOf(snap *composition.Snapshot, serviceID int64, raw string) *composition.Application {
	if id, err := strconv.ParseInt(raw, 10, 64); err == nil {
		if app, ok := snap.Applications.Get(id); ok && app.ServiceID == serviceID {
			return app
		}
	}
	app, _ := snap.Applications.Find(func(a *composition.Application) bool { return a.ServiceID == serviceID && a.AppID == raw && raw != "" })
	return app
}

type internalAlertLimit struct {
	ServiceID string `json:"service_id"`
	Value     int    `json:"value"`
}

// listAlertLimits answers the service's alert limits; an unknown service
// has none, as in apisonator.
func (a *InternalAPI) listAlertLimits(w http.ResponseWriter, r *http.Request) {
	out := []internalAlertLimit{}
	if svc, ok := serviceOf(a.store.Snapshot(), r); ok {
		for _, v := range svc.AlertLimits {
			out = append(out, internalAlertLimit{ServiceID: strconv.FormatInt(svc.ID, 10), Value: v})
		}
	}
	writeInternal(w, http.StatusOK, struct {
		Status      string               `json:"status"`
		AlertLimits []internalAlertLimit `json:"alert_limits"`
	}{"found", out})
}

// alertLimitValue reads a value as apisonator's AlertLimit.valid_value?
// does: one of the bins, written exactly as the integer ("80", not "80.0").
func alertLimitValue(raw string) (int, bool) {
	n, err := strconv.Atoi(raw)
	return n, err == nil && strconv.Itoa(n) == raw && slices.Contains(composition.AlertLimitValues, n)
}

// createAlertLimit enables alert_limit[value] (a JSON body, as apisonator
// reads, or a form) for the service. Enabling one already enabled answers
// 201 again. The service must exist: the limits are kept on it.
func (a *InternalAPI) createAlertLimit(w http.ResponseWriter, r *http.Request) {
	if strings.TrimSpace(r.Header.Get("Content-Type")) == "" {
		r.Header.Set("Content-Type", "application/json") // apisonator reads every body as JSON
	}
	p, err := ReadParams(w, r, MaxBodyBytes)
	if err != nil {
		writeInternal(w, StatusOf(err), internalError{Status: "error", Error: err.Error()})
		return
	}
	raw, _ := p.Get("alert_limit[value]")
	value, ok := alertLimitValue(raw)
	if !ok {
		writeInternal(w, http.StatusBadRequest, internalError{Error: "alert limit is invalid"})
		return
	}
	svc, status := a.changeAlertLimits(r, func(limits []int) ([]int, bool) {
		if i, found := slices.BinarySearch(limits, value); !found {
			return slices.Insert(slices.Clone(limits), i, value), true
		}
		return limits, false
	})
	switch status {
	case 0:
	case http.StatusNotFound:
		notFound(w, "service not found")
		return
	default:
		writeInternal(w, status, internalError{Status: "error", Error: "the alert limits could not be stored"})
		return
	}
	writeInternal(w, http.StatusCreated, struct {
		Status     string             `json:"status"`
		AlertLimit internalAlertLimit `json:"alert_limit"`
	}{"created", internalAlertLimit{ServiceID: strconv.FormatInt(svc, 10), Value: value}})
}

// deleteAlertLimit disables {value}; one not enabled (or not a valid value)
// is apisonator's 404.
func (a *InternalAPI) deleteAlertLimit(w http.ResponseWriter, r *http.Request) {
	value, ok := alertLimitValue(r.PathValue("value"))
	removed := false
	if ok {
		_, status := a.changeAlertLimits(r, func(limits []int) ([]int, bool) {
			i, found := slices.BinarySearch(limits, value)
			if !found {
				return limits, false
			}
			removed = true
			return slices.Delete(slices.Clone(limits), i, i+1), true
		})
		if status == http.StatusInternalServerError {
			writeInternal(w, status, internalError{Status: "error", Error: "the alert limits could not be stored"})
			return
		}
	}
	if !removed {
		notFound(w, "alert limit not found")
		return
	}
	writeInternal(w, http.StatusOK, struct {
		Status string `json:"status"`
	}{"deleted"})
}

// errNoService stops an update whose service is gone.
var errNoService = errors.New("service not found")

// changeAlertLimits edits the alert limits of the service {service_id} in
// one revision; edit says whether it changed them. It returns the service's
// id, or the status to answer: 404 for an unknown service, 500 when the
// store failed.
func (a *InternalAPI) changeAlertLimits(r *http.Request, edit func([]int) ([]int, bool)) (int64, int) {
	var id int64
	_, err := a.store.Update(r.Context(), func(tx *composition.Tx) error {
		svc, ok := serviceOf(tx.View(), r)
		if !ok {
			return errNoService
		}
		id = svc.ID
		limits, changed := edit(svc.AlertLimits)
		if !changed {
			return nil
		}
		n := *svc
		n.AlertLimits = limits
		return tx.Update(&n)
	})
	switch {
	case errors.Is(err, errNoService):
		return 0, http.StatusNotFound
	case err != nil:
		return 0, http.StatusInternalServerError
	}
	return id, 0
}
