package threescale

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
)

// apisonator's event documents: Ruby's Time#to_s in UTC, and the alert's
// fields in apisonator's order.

const eventTimeFormat = "2006-01-02 15:04:05 UTC"

type internalEvent struct {
	ID        int64  `json:"id"`
	Type      string `json:"type"`
	Timestamp string `json:"timestamp"`
	Object    any    `json:"object"`
}

type internalTrafficObject struct {
	ServiceID     string `json:"service_id"`
	ApplicationID string `json:"application_id"`
	Timestamp     string `json:"timestamp"`
}

type internalAlertObject struct {
	ID             int64     `json:"id"`
	Utilization    int       `json:"utilization"`
	MaxUtilization rubyFloat `json:"max_utilization"`
	ApplicationID  string    `json:"application_id"`
	ServiceID      string    `json:"service_id"`
	Timestamp      string    `json:"timestamp"`
	Limit          string    `json:"limit"`
}

// rubyFloat encodes as Ruby writes a Float: 1.0, not 1.
type rubyFloat float64

// MarshalJSON writes the shortest representation, with ".0" when integral.
func (f rubyFloat) MarshalJSON() ([]byte, error) {
	s := strconv.FormatFloat(float64(f), 'f', -1, 64)
	if !strings.ContainsAny(s, ".eE") {
		s += ".0"
	}
	return []byte(s), nil
}

func eventDocument(ev BackendEvent) internalEvent {
	ts := ev.Time.UTC().Format(eventTimeFormat)
	svc, app := strconv.FormatInt(ev.ServiceID, 10), strconv.FormatInt(ev.ApplicationID, 10)
	out := internalEvent{ID: ev.ID, Type: ev.Type, Timestamp: ts}
	if al := ev.Alert; al != nil {
		out.Object = internalAlertObject{ID: al.ID, Utilization: al.Level, MaxUtilization: rubyFloat(al.Utilization),
			ApplicationID: app, ServiceID: svc, Timestamp: ts,
			Limit: al.Metric + " per " + al.Period + ": " + strconv.FormatInt(al.Current, 10) + "/" + strconv.FormatInt(al.Max, 10)}
	} else {
		out.Object = internalTrafficObject{ServiceID: svc, ApplicationID: app, Timestamp: ts}
	}
	return out
}

// listEvents answers the events kept, oldest first.
func (a *InternalAPI) listEvents(w http.ResponseWriter, _ *http.Request) {
	evs := a.events.Events()
	out := make([]internalEvent, len(evs))
	for i, ev := range evs {
		out[i] = eventDocument(ev)
	}
	writeInternal(w, http.StatusOK, struct {
		Status string          `json:"status"`
		Events []internalEvent `json:"events"`
	}{"found", out})
}

// rubyInt reads a number as Ruby's String#to_i: the leading digits, else
// 0; past int64 it saturates, as Ruby's integers never overflow.
func rubyInt(s string) int64 {
	s = strings.TrimSpace(s)
	end := 0
	if end < len(s) && (s[0] == '-' || s[0] == '+') {
		end++
	}
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	n, err := strconv.ParseInt(s[:end], 10, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0 // no digits
	}
	return n // ParseInt's bound when out of range
}

// deleteEvent deletes the event {id}; an unknown one is apisonator's 404.
func (a *InternalAPI) deleteEvent(w http.ResponseWriter, r *http.Request) {
	id := rubyInt(r.PathValue("id"))
	found := false
	if id > 0 {
		var err error
		if found, err = a.events.DeleteEvent(r.Context(), id); err != nil {
			writeInternal(w, http.StatusInternalServerError, internalError{Status: "error", Error: "the deletion could not be stored: " + err.Error()})
			return
		}
	}
	if !found {
		notFound(w, "event not found")
		return
	}
	writeInternal(w, http.StatusOK, struct {
		Status string `json:"status"`
	}{"deleted"})
}

// deleteEvents deletes the events up to upto_id (query or JSON body) and
// answers how many; without upto_id, none.
func (a *InternalAPI) deleteEvents(w http.ResponseWriter, r *http.Request) {
	if strings.TrimSpace(r.Header.Get("Content-Type")) == "" {
		r.Header.Set("Content-Type", "application/json") // apisonator reads every body as JSON
	}
	p, err := ReadParams(w, r, MaxBodyBytes)
	if err != nil {
		writeInternal(w, StatusOf(err), internalError{Status: "error", Error: err.Error()})
		return
	}
	raw, _ := p.Get("upto_id")
	n, err := a.events.DeleteEventsUpTo(r.Context(), rubyInt(raw))
	if err != nil {
		writeInternal(w, http.StatusInternalServerError, internalError{Status: "error", Error: "the deletion could not be stored: " + err.Error()})
		return
	}
	writeInternal(w, http.StatusOK, struct {
		Status    string `json:"status"`
		NumEvents int    `json:"num_events"`
	}{"deleted", n})
}
