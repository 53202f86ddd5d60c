package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/portolan/portolan/internal/backoff"
)

// Event stream bounds: at most maxStreams open at once (a browser tab holds
// one), maxSessionStreams of them a session's and maxTokenStreams an access
// token's (configured tokens count as one), a comment every
// heartbeatEvery so proxies and the browser keep the connection, and at
// most one update every coalesceEvery however fast the registry changes.
const (
	maxStreams        = 64
	maxSessionStreams = 8
	maxTokenStreams   = maxStreams / 2
	heartbeatEvery    = 15 * time.Second
	coalesceEvery     = 200 * time.Millisecond
)

// mapUpdate is the data of one "map" event: the counts of the filtered
// fleet and the rows of the viewer's page whose status changed
// (every row in the first event). Stale says the page's set of instances
// changed (one came, went or moved page), or its number of pages (its
// pager): the script then fetches the page again rather than patching it.
// Groups are the totals of the page's services, their headings' counts;
// Pages lets a page drawn before the stream's first (full) update tell
// whether its pager still holds (it may have been drawn pages ago, or
// before a reconnection).
type mapUpdate struct {
	Index  uint64         `json:"index"`
	Total  int            `json:"total"`
	Pages  int            `json:"pages"`
	Counts map[string]int `json:"counts"`
	Groups map[string]int `json:"groups"`
	Rows   []instanceRow  `json:"rows"`
	Full   bool           `json:"full,omitempty"`
	Stale  bool           `json:"stale,omitempty"`
}

// mapStream turns successive maps into the updates one page needs.
type mapStream struct {
	ids    []string          // the page's instances, in order, at the last update
	status map[string]string // their status then
	pages  int               // the pages of the filtered fleet then
	counts mapUpdate         // the counts sent then (Total, Counts, Groups)
}

// next returns the update that brings the page last sent up to v; ok is
// false when nothing the page shows changed.
func (s *mapStream) next(v mapView) (u mapUpdate, ok bool) {
	u = mapUpdate{Index: v.Index, Total: v.Total, Pages: v.Pages, Counts: make(map[string]int, len(v.Counts)), Groups: make(map[string]int, len(v.Groups))}
	for _, c := range v.Counts {
		u.Counts[c.Status] = c.N
	}
	var ids []string
	status := make(map[string]string, mapPageSize)
	first := s.status == nil
	for _, g := range v.Groups {
		u.Groups[g.Name] = g.Total
		for _, row := range g.Instances {
			ids = append(ids, row.ID)
			status[row.ID] = row.Status
			if first || s.status[row.ID] != row.Status {
				u.Rows = append(u.Rows, row)
			}
		}
	}
	u.Full = first
	u.Stale = !first && (!slices.Equal(ids, s.ids) || v.Pages != s.pages)
	// Counts change with instances beyond the page too: they are sent,
	// though no row of the page changed.
	recounted := u.Total != s.counts.Total || !maps.Equal(u.Counts, s.counts.Counts) || !maps.Equal(u.Groups, s.counts.Groups)
	s.ids, s.status, s.pages, s.counts = ids, status, v.Pages, mapUpdate{Total: u.Total, Counts: u.Counts, Groups: u.Groups}
	return u, first || u.Stale || len(u.Rows) > 0 || recounted
}

// events serves GET /ui/events: Server-Sent Events for one page of the
// map (the same filter and page as the page's query), sent as the registry
// changes. It blocks on the registry's index, so an idle fleet costs a
// heartbeat comment a quarter minute.
func (c *Console) events(w http.ResponseWriter, r *http.Request) {
	sid := ""
	if ck, err := r.Cookie(sessionCookie); err == nil {
		sid = ck.Value
	}
	tokenID, ended, ok := c.sessions.openStream(sid, c.cfg.Now())
	if !ok {
		w.Header().Set("Retry-After", "30")
		http.Error(w, fmt.Sprintf("console: this session has %d live views open, or its access token %d; close some tabs", maxSessionStreams, maxTokenStreams), http.StatusServiceUnavailable)
		return
	}
	defer c.sessions.closeStream(sid, tokenID)
	select {
	case c.streams <- struct{}{}:
		defer func() { <-c.streams }()
	default:
		w.Header().Set("Retry-After", "30")
		http.Error(w, "console: too many open live views; close some tabs", http.StatusServiceUnavailable)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	send := func(b []byte) error {
		// The stream outlives any server-wide write timeout: each write
		// gets its own deadline (ignored where the writer has none).
		_ = rc.SetWriteDeadline(time.Now().Add(2 * heartbeatEvery))
		if _, err := w.Write(b); err != nil {
			return err
		}
		return rc.Flush()
	}
	alive := func() bool { ss, ok := c.sessions.peek(sid, c.cfg.Now()); return ok && c.tokenStands(ss.tokenID) }
	ctx, cancel := context.WithCancelCause(r.Context())
	defer cancel(nil)
	go func() { // ends with the request (cancel above) or the session
		select {
		case <-ended:
			cancel(errSignedOut)
		case <-ctx.Done():
		}
	}()
	err := c.streamMap(ctx, parseMapFilter(r.URL.Query()), alive, send)
	if err != nil && !errors.Is(err, context.Canceled) {
		c.cfg.Logger.Debug().Err(err).Msg("console: event stream ended")
	}
}

// errSignedOut is the cause of a stream's context when its session ends.
var errSignedOut = errors.New("console: the session ended")

// signedOutEvent tells the page its session is over (console.js then goes
// to the login page).
const signedOutEvent = "event: signedout\ndata: {}\n\n"

// streamMap sends the updates of one filtered page through send until ctx
// ends, send fails, or the session is no longer alive: at once when ctx's
// cause is errSignedOut, by the next update or heartbeat when the session
// expires or its token is revoked.
func (c *Console) streamMap(ctx context.Context, f mapFilter, alive func() bool, send func([]byte) error) error {
	st := &mapStream{}
	index := uint64(0)
	done := func() error {
		if errors.Is(context.Cause(ctx), errSignedOut) {
			return send([]byte(signedOutEvent))
		}
		return ctx.Err()
	}
	for {
		if ctx.Err() != nil {
			return done()
		}
		if !alive() {
			return send([]byte(signedOutEvent))
		}
		v := c.views.view(c.cfg.Map, f)
		index = v.Index
		if u, ok := st.next(v); ok {
			if err := send(encodeEvent("map", u)); err != nil {
				return fmt.Errorf("console: sending a map update: %w", err)
			}
		}
		if !backoff.Sleep(ctx, coalesceEvery) {
			return done()
		}
		for {
			wctx, cancel := context.WithTimeout(ctx, heartbeatEvery)
			_, err := c.cfg.Map.Wait(wctx, index)
			cancel()
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return done()
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				return fmt.Errorf("console: waiting for the registry: %w", err)
			}
			if !alive() {
				break
			}
			if err := send([]byte(": heartbeat\n\n")); err != nil {
				return fmt.Errorf("console: sending a heartbeat: %w", err)
			}
		}
	}
}

// streamViews are the views the open streams show, drawn once per
// registry index and page however many streams show it: a change costs one
// draw per distinct page open, not one per tab. (Pages draw their own:
// their ages must be current, while an unchanged index leaves a stream
// nothing to send.)
type streamViews struct {
	mu    sync.Mutex
	byKey map[string]mapView // by the page's address
}

// view returns page f of src, at src's current index.
func (sv *streamViews) view(src Map, f mapFilter) mapView {
	idx, key := src.Index(), f.pageURL(f.Page)
	sv.mu.Lock()
	v, ok := sv.byKey[key]
	sv.mu.Unlock()
	if ok && v.Index == idx {
		return v
	}
	v = buildMapView(src, f)
	sv.mu.Lock()
	defer sv.mu.Unlock()
	if sv.byKey == nil {
		sv.byKey = map[string]mapView{}
	}
	if len(sv.byKey) >= maxStreams { // bounded by the streams: drop the stale
		for k, old := range sv.byKey {
			if old.Index < v.Index {
				delete(sv.byKey, k)
			}
		}
		if len(sv.byKey) >= maxStreams {
			clear(sv.byKey)
		}
	}
	sv.byKey[key] = v
	return v
}

// encodeEvent frames v as one Server-Sent Event.
func encodeEvent(name string, v any) []byte {
	b, _ := json.Marshal(v) // plain structs of strings and numbers
	out := make([]byte, 0, len(b)+len(name)+16)
	out = append(out, "event: "...)
	out = append(out, name...)
	out = append(out, "\ndata: "...)
	out = append(out, b...)
	return append(out, "\n\n"...)
}
