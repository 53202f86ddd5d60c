package gateway

import (
	"cmp"
	"net/http"
	"time"

	"github.com/portolan/portolan/agent/gateway/policy"
)

// statusRecorder is the writer every request is answered through: it
// notes the status that goes out, whoever writes it (the upstream, a
// policy or the gateway's own error answers), for the metrics, the chain's
// log phase (Context.Status) and the trace. It is part of the pooled
// request, so wrapping costs no allocation.
type statusRecorder struct {
	http.ResponseWriter
	status int
	ctx    *policy.Context

	upstream upstreamRecorder // the forwarding's writer (timeUpstream), pooled with it
}

// upstreamRecorder notes the status the forwarding writes, the upstream's
// (or the gateway's 502 or 504 for an upstream it could not reach), before
// the policies' filters between it and the client change it: nginx's
// $upstream_status, whatever statuscode_overwrite makes of ngx.status.
type upstreamRecorder struct {
	http.ResponseWriter
	status int
}

func (w *upstreamRecorder) WriteHeader(code int) {
	if w.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *upstreamRecorder) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach Flush and Hijack.
func (w *upstreamRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush passes a flush through.
func (w *upstreamRecorder) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		w.status = code
		w.ctx.Status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
		w.ctx.Status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach Flush and Hijack (upgrades,
// streamed answers).
func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush passes a flush through.
func (w *statusRecorder) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
		w.ctx.Status = http.StatusOK
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// finalStatus is the status the client got: nginx logs 499 for a client
// that went away before anything was written, and net/http sends 200 for a
// handler that wrote nothing.
func (w *statusRecorder) finalStatus(r *http.Request) int {
	switch {
	case w.status != 0:
		return w.status
	case r.Context().Err() != nil:
		return 499
	default:
		return http.StatusOK
	}
}

// record observes one answered request in the service's metrics.
func (g *Gateway) record(rq *request, r *http.Request, v *view, start time.Time) {
	sm := g.am.noService
	if v != nil && v.metrics != nil {
		sm = v.metrics
	}
	c := &rq.ctx
	sm.observe(rq.rec.finalStatus(r), time.Since(start), c.UpstreamStatus, c.UpstreamTime)
}

// timeUpstream runs forward and notes, unless the forwarding noted them
// itself, the upstream's status and how long it took, as nginx's
// $upstream_status and $upstream_response_time (a connection failure
// answered 502 counts as upstream status 502, as nginx counts it). The
// status is the one forward writes into c.W, read by rec.upstream there,
// before the policies' filters that wrap the client's writer: what the
// client gets is apicast_status, not upstream_status.
//
// They are noted when forward panics too (http.ErrAbortHandler: the
// upstream died mid-body), before the log phase and the metrics read them:
// nginx has $upstream_status for an answer it could not finish.
func timeUpstream(c *policy.Context, rec *statusRecorder, forward func()) {
	up := &rec.upstream
	up.ResponseWriter, up.status = c.W, 0
	c.W = up
	defer noteUpstream(c, rec, time.Now())
	forward()
}

func noteUpstream(c *policy.Context, rec *statusRecorder, start time.Time) {
	up := &rec.upstream
	c.W, up.ResponseWriter = up.ResponseWriter, nil
	if c.UpstreamTime == 0 {
		c.UpstreamTime = time.Since(start)
	}
	if c.UpstreamStatus == 0 {
		// rec.status when nothing went through c.W: an upgrade's 101
		// written on the hijacked connection.
		c.UpstreamStatus = cmp.Or(up.status, rec.status)
	}
}
