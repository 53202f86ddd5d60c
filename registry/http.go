package registry

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/httpjson"
)

// Blocking query waits, as Consul's: wait defaults to DefaultWait and is cut
// to MaxWait; up to wait/16 of random jitter is added so watchers spread out.
const (
	DefaultWait = 5 * time.Minute
	MaxWait     = 10 * time.Minute
)

// Handler serves the agent API (mount it at /v1/):
//
//	PUT    /v1/instances/{id}            Registration → RegisterReply       join token
//	PUT    /v1/instances/{id}/heartbeat  Heartbeat → HeartbeatReply         credential of id (404: register again)
//	PUT    /v1/instances/{id}/drain                                         credential of id
//	DELETE /v1/instances/{id}                                               credential of id
//	GET    /v1/map?index=N&wait=30s&service=S   Map, blocking               credential or admin token
//	GET    /v1/composition?instance=ID&index=R&wait=30s  SignedView for the instance, blocking  credential of ID
//
// Tokens come as "Authorization: Bearer <token>" (see auth.go). Errors are
// JSON: {"error":"..."}. An instance holds at most MaxWatchesPerInstance
// blocking reads at once (429 past it; watches.go).
func (r *Registry) Handler(a Access) http.Handler {
	mux := http.NewServeMux()
	const instance = PathInstances + "{id}"
	mux.Handle("PUT "+instance, r.allow(roleJoin, false, r.serveRegister))
	mux.HandleFunc("PUT "+instance+PathHeartbeat, func(w http.ResponseWriter, req *http.Request) {
		r.serveHeartbeat(w, req, req.PathValue("id"), callerOf(req.Context()))
	})
	mux.Handle("PUT "+instance+PathDrain, r.allow(roleInstance, true, r.serveDrain))
	mux.Handle("DELETE "+instance, r.allow(roleInstance, true, r.serveDeregister))
	mux.Handle("GET "+PathMap, r.allow(roleInstance|roleAdmin, false, func(w http.ResponseWriter, req *http.Request) {
		r.serveMap(w, req, a.Admin)
	}))
	mux.Handle("GET "+PathComposition, r.allow(roleInstance, false, r.serveComposition))
	au := r.authenticator(a)
	routed := au.authenticate(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		// No route says nothing to a caller home does not know.
		if c := callerOf(req.Context()); c.role == 0 {
			if _, pattern := mux.Handler(req); pattern == "" {
				refuseUnknown(w, c)
				return
			}
		}
		mux.ServeHTTP(w, req)
	}))
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		// The heartbeat, every instance's call every few seconds, is
		// served without the mux and without a copy of the request.
		if id, ok := heartbeatID(req); ok {
			r.serveHeartbeatFrom(w, req, id, au)
			return
		}
		routed.ServeHTTP(w, req)
	})
}

// IsHeartbeat reports whether req is a heartbeat, PUT
// PathInstances+id+PathHeartbeat, its path clean and unescaped: one that
// Handler serves without its mux (another one goes through the mux).
func IsHeartbeat(req *http.Request) bool {
	_, ok := heartbeatID(req)
	return ok
}

func heartbeatID(req *http.Request) (string, bool) {
	if req.Method != http.MethodPut || req.URL.RawPath != "" {
		return "", false
	}
	rest, ok := strings.CutPrefix(req.URL.Path, PathInstances)
	if !ok {
		return "", false
	}
	id, ok := strings.CutSuffix(rest, PathHeartbeat)
	if !ok || id == "" || id == "." || id == ".." || strings.IndexByte(id, '/') >= 0 {
		return "", false
	}
	return id, true
}

// registrationBody reads the TTL apart, so a bad duration is reported with
// its field name; the outer field shadows the embedded one.
type registrationBody struct {
	Registration
	TTL json.RawMessage `json:"ttl,omitempty"`
}

func (r *Registry) serveRegister(w http.ResponseWriter, req *http.Request) {
	var body registrationBody
	if !decodeBody(w, req, "registration", &body) {
		return
	}
	reg := body.Registration
	if len(body.TTL) > 0 && string(body.TTL) != "null" {
		if err := reg.TTL.UnmarshalJSON(body.TTL); err != nil {
			httpjson.Error(w, http.StatusBadRequest, "ttl: "+err.Error())
			return
		}
	}
	reply, err := r.register(req.PathValue("id"), reg, callerOf(req.Context()).grant)
	if err != nil {
		r.writeDomainError(w, err)
		return
	}
	if r.views != nil {
		reply.SigningKey = r.views.signer.PublicKey()
		reply.ViewKey = r.viewKeyFor(reply.Placement.Service, reg.Service)
	}
	httpjson.Write(w, http.StatusOK, reply)
}

// serveHeartbeatFrom answers the heartbeat of instance id, taking the
// registry's lock once: the instance its credential names is found under
// the credentials' lock (before the body is read, as every token is), and
// checked to be still the one registered, and not revoked, as the
// heartbeat is applied. Every other caller, and every refusal, goes as
// through the mux.
func (r *Registry) serveHeartbeatFrom(w http.ResponseWriter, req *http.Request, id string, au authenticator) {
	var in *instance
	if tok, ok := bearerToken(req); ok {
		in = r.credentialHolder(tok)
	}
	if in == nil || subtle.ConstantTimeCompare([]byte(in.id), []byte(id)) != 1 {
		r.serveHeartbeat(w, req, id, au.caller(req))
		return
	}
	buf := heartbeatBuffers.Get().(*[]byte)
	defer putHeartbeatBuffer(buf)
	var hb Heartbeat
	if !readHeartbeat(w, req, buf, &hb) {
		return
	}
	reply, err := r.beat(id, in, hb)
	if errors.Is(err, ErrUnknown) {
		// Replaced, removed or revoked since it was looked up (a race with
		// a registration or a revocation): answered as the caller is now.
		if !r.refused(w, au.caller(req), roleInstance, true, id) {
			r.writeDomainError(w, err)
		}
		return
	}
	if err != nil {
		r.writeDomainError(w, err)
		return
	}
	writeHeartbeatReply(w, buf, reply)
}

// serveHeartbeat answers the heartbeat of instance id from caller c.
func (r *Registry) serveHeartbeat(w http.ResponseWriter, req *http.Request, id string, c caller) {
	if r.refused(w, c, roleInstance, true, id) {
		return
	}
	buf := heartbeatBuffers.Get().(*[]byte)
	defer putHeartbeatBuffer(buf)
	var hb Heartbeat
	if !readHeartbeat(w, req, buf, &hb) {
		return
	}
	reply, err := r.Heartbeat(id, hb)
	if err != nil {
		r.writeDomainError(w, err)
		return
	}
	writeHeartbeatReply(w, buf, reply)
}

// statusReply answers drain and deregister.
type statusReply struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

func (r *Registry) serveDrain(w http.ResponseWriter, req *http.Request) {
	id := req.PathValue("id")
	if err := r.Drain(id); err != nil {
		r.writeDomainError(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, statusReply{ID: id, Status: StatusDraining})
}

func (r *Registry) serveDeregister(w http.ResponseWriter, req *http.Request) {
	id := req.PathValue("id")
	if err := r.Deregister(id); err != nil {
		r.writeDomainError(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, statusReply{ID: id, Status: "deregistered"})
}

// serveMap answers at once without index, with an index below the current
// one, or with one above it (the coordinator restarted and the index began
// again: the client should start over from the answer's). With the current
// index it waits for a change, or for wait, and answers with the map then.
//
// A query with the parameters of MapQuery beyond ParamService is answered
// with part of the map (MapPage), its counts (MapSummary) or what changed
// since index (MapDelta), with MapAnswerHeader saying which; without them,
// with the whole map as before.
//
// The caller is checked again after the wait (admin, for an admin access
// token): one revoked or deleted meanwhile is answered 401, not the map.
func (r *Registry) serveMap(w http.ResponseWriter, req *http.Request, admin func(*http.Request) bool) {
	index, blocking, wait, err := blockingParams(req)
	if err != nil {
		httpjson.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	q, err := ParseMapQuery(req.URL.Query())
	if err != nil {
		httpjson.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	if blocking && index == r.Index() {
		c := callerOf(req.Context())
		done, ok := r.admitWatch(w, req)
		if !ok {
			return
		}
		ctx, cancel, ok := r.watchContext(w, req, c, wait)
		if !ok {
			done()
			return
		}
		_, _ = r.Wait(ctx, index)
		cancel()
		done()
		if req.Context().Err() != nil {
			return // the client went away
		}
		if r.refuseAfterWait(w, req, c, admin) {
			return
		}
	}
	var (
		answer any
		at     uint64
		kind   string
	)
	switch {
	case q.Summary:
		s := r.MapSummary(q)
		answer, at, kind = s, s.Index, MapAnswerSummary
	case q.Delta:
		d := r.MapDelta(q, index)
		answer, at, kind = d, d.Index, MapAnswerDelta
	case q.extended():
		m := r.MapPage(q)
		answer, at, kind = m, m.Index, MapAnswerPage
	case q.Service != "":
		// The one filter every peer knows: drawn alone, answered as ever.
		m := r.MapPage(q)
		answer, at = m, m.Index
	default:
		m := r.Map()
		answer, at = m, m.Index
	}
	if kind != "" {
		w.Header().Set(MapAnswerHeader, kind)
	}
	w.Header().Set(IndexHeader, strconv.FormatUint(at, 10))
	httpjson.Write(w, http.StatusOK, answer)
}

// serveComposition answers with the signed view (view.go) of the newest
// composition for the instance named by ParamInstance, once its revision is
// above index: only the service it is placed in, credentials hashed. The
// view goes to the instance the credential was issued to only while it is
// registered and not revoked: a wait ends, with a 401, when it no longer
// is.
func (r *Registry) serveComposition(w http.ResponseWriter, req *http.Request) {
	index, blocking, wait, err := blockingParams(req)
	if err != nil {
		httpjson.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	if r.views == nil {
		httpjson.Error(w, http.StatusServiceUnavailable, "home has no composition signing key: compositions are not served")
		return
	}
	// The view is the calling instance's own: its credential names it, and
	// an instance parameter naming another is refused.
	id, ok := InstanceOf(req.Context())
	if !ok {
		httpjson.Error(w, http.StatusForbidden, "the composition is read with an instance credential")
		return
	}
	if q := req.URL.Query().Get(ParamInstance); q != "" && q != id {
		httpjson.Error(w, http.StatusForbidden, "an instance reads its own composition only")
		return
	}
	c := callerOf(req.Context())
	snap := r.store.Snapshot()
	if blocking && index >= snap.Revision {
		done, ok := r.admitWatch(w, req)
		if !ok {
			return
		}
		defer done()
		ctx, cancel, ok := r.watchContext(w, req, c, wait)
		if !ok {
			return
		}
		if s, err := r.store.Wait(ctx, index); err == nil && s != nil {
			snap = s
		} else {
			snap = r.store.Snapshot()
		}
		cancel()
		if req.Context().Err() != nil {
			return
		}
	}
	audience, revoked, ok := r.audienceOf(c.holder, snap)
	if !ok {
		refuseUnknown(w, caller{present: true, revoked: revoked})
		return
	}
	view, err := r.views.get(snap, audience, r.now())
	if err != nil {
		r.writeDomainError(w, err)
		return
	}
	w.Header().Set(IndexHeader, strconv.FormatUint(snap.Revision, 10))
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(view)
}

// IsBlockingRead reports whether req is a blocking query: a GET of the map
// or of a composition with an index, which may wait up to its wait for a
// change. Its duration is mostly that wait, so a latency histogram should
// not observe it (the coordinator counts it apart).
func IsBlockingRead(req *http.Request) bool {
	if req.Method != http.MethodGet || (req.URL.Path != PathMap && req.URL.Path != PathComposition) {
		return false
	}
	return req.URL.Query().Get(ParamIndex) != ""
}

// blockingParams reads index and wait as Consul does: wait is a duration
// ("30s", "5m"; a bare number is seconds), 0 or absent meaning DefaultWait,
// cut to MaxWait, plus up to wait/16 of jitter.
func blockingParams(req *http.Request) (index uint64, blocking bool, wait time.Duration, err error) {
	q := req.URL.Query()
	if s := q.Get(ParamIndex); s != "" {
		index, err = strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, false, 0, fmt.Errorf("index must be a non-negative integer (got %q)", truncate(s, 32))
		}
		blocking = true
	}
	if s := q.Get(ParamWait); s != "" {
		if n, err2 := strconv.ParseUint(s, 10, 32); err2 == nil {
			wait = time.Duration(n) * time.Second
		} else if wait, err = time.ParseDuration(s); err != nil || wait < 0 {
			return 0, false, 0, fmt.Errorf("wait must be a duration like \"30s\" (got %q)", truncate(s, 32))
		}
	}
	if wait == 0 {
		wait = DefaultWait
	}
	wait = min(wait, MaxWait)
	wait += rand.N(wait/16 + 1)
	return index, blocking, wait, nil
}

// decodeBody reads one JSON object of at most MaxBodyBytes into v, refusing
// unknown fields and trailing data. On failure it answers 400 or 413 with a
// message naming the problem and returns false.
func decodeBody(w http.ResponseWriter, req *http.Request, what string, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, req.Body, MaxBodyBytes))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if err2 := dec.Decode(&struct{}{}); err2 != io.EOF {
			err = errTrailing
			var tooLarge *http.MaxBytesError
			if errors.As(err2, &tooLarge) {
				err = err2
			}
		}
	}
	if err == nil {
		return true
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		httpjson.Error(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body exceeds %d bytes", MaxBodyBytes))
		return false
	}
	httpjson.Error(w, http.StatusBadRequest, describeJSONError(err, what))
	return false
}

var errTrailing = errors.New("unexpected data after the JSON object")

func describeJSONError(err error, what string) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return fmt.Sprintf("request body is empty: expected a JSON %s", what)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Sprintf("malformed JSON %s: unexpected end of input", what)
	case errors.Is(err, errTrailing):
		return fmt.Sprintf("malformed JSON %s: %v", what, err)
	case errors.As(err, &syntax):
		return fmt.Sprintf("malformed JSON %s at byte %d: %v", what, syntax.Offset, strings.TrimPrefix(syntax.Error(), "json: "))
	case errors.As(err, &typ):
		if typ.Field == "" {
			return fmt.Sprintf("%s must be a JSON object, not %s", what, typ.Value)
		}
		// Fields of an embedded struct come prefixed with its type name.
		field := strings.TrimPrefix(typ.Field, "Registration.")
		return fmt.Sprintf("%s: wrong type for field %q: expected %s, got %s", what, field, jsonKind(typ.Type), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return fmt.Sprintf("%s: unknown field %s", what, strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return fmt.Sprintf("malformed JSON %s: %v", what, strings.TrimPrefix(err.Error(), "json: "))
}

// jsonKind names a Go type as the JSON it is written in.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "a value"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return t.String()
}

func (r *Registry) writeDomainError(w http.ResponseWriter, err error) {
	var fe *composition.FieldError
	if code, ok := scopeStatus(err); ok {
		httpjson.Error(w, code, err.Error())
		return
	}
	switch {
	case errors.As(err, &fe):
		httpjson.Error(w, http.StatusBadRequest, fe.Error())
	case errors.Is(err, ErrUnknown):
		httpjson.Error(w, http.StatusNotFound, ErrUnknown.Error())
	default:
		r.log.Error().Err(err).Msg("agent API call failed")
		httpjson.Error(w, http.StatusInternalServerError, "internal error")
	}
}
