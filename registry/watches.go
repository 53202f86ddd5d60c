package registry

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/portolan/portolan/internal/httpjson"
)

// MaxWatchesPerInstance bounds the blocking queries (GET PathMap and
// PathComposition with an index) one instance credential holds open at
// once. An agent holds two, its composition's and its map's, and a third
// for a moment when one is cut and opened again. Home bounds its
// connections, all callers together (httpserve.Limits.MaxConns): without a
// bound of its own, one leaked credential could hold every one of them for
// up to MaxWait and leave none for the other agents' heartbeats.
const MaxWatchesPerInstance = 8

// watchRetryAfter is the Retry-After of a blocking query refused for the
// bound, in seconds.
const watchRetryAfter = 5

// watchCounts counts the blocking queries open per instance.
type watchCounts struct {
	mu sync.Mutex
	n  map[string]int
}

// acquire counts a blocking query of instance id, unless it holds
// MaxWatchesPerInstance already; release undoes it.
func (w *watchCounts) acquire(id string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.n[id] >= MaxWatchesPerInstance {
		return false
	}
	if w.n == nil {
		w.n = map[string]int{}
	}
	w.n[id]++
	return true
}

func (w *watchCounts) release(id string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.n[id]--; w.n[id] <= 0 {
		delete(w.n, id)
	}
}

// admitWatch admits a blocking query of the caller of req, answering 429
// when its instance holds the bound already; done ends it. Callers that
// are not instances (an admin access token reading the map) are not bound.
func (r *Registry) admitWatch(w http.ResponseWriter, req *http.Request) (done func(), ok bool) {
	id, isInstance := InstanceOf(req.Context())
	if !isInstance {
		return func() {}, true
	}
	if !r.watches.acquire(id) {
		w.Header().Set("Retry-After", strconv.Itoa(watchRetryAfter))
		httpjson.Error(w, http.StatusTooManyRequests, fmt.Sprintf(
			"instance %s holds %d blocking queries already, the most one instance may: end one before opening another (an agent needs two)",
			id, MaxWatchesPerInstance))
		return nil, false
	}
	return func() { r.watches.release(id) }, true
}

// watchEnd ends the blocking queries of one instance once its credential
// stops being valid (its join token revoked, or the instance replaced or
// removed), so that a query opened before does not wait on for up to
// MaxWait and then hand the next view to a credential home refuses. It is
// made by the instance's first blocking query: an instance that never
// waits costs a nil pointer.
type watchEnd struct {
	ctx    context.Context
	cancel context.CancelFunc
}

// endWatches ends the blocking queries of in; with mu held.
func (in *instance) endWatches() {
	if in.watching != nil {
		in.watching.cancel()
	}
}

// watchEndOf returns the context that ends when in is no longer the
// unrevoked instance registered under its id, and false (with nil) when it
// is no longer already.
func (r *Registry) watchEndOf(in *instance) (context.Context, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.instances[in.id] != in || in.revoked {
		return nil, false
	}
	if in.watching == nil {
		ctx, cancel := context.WithCancel(context.Background())
		in.watching = &watchEnd{ctx: ctx, cancel: cancel}
	}
	return in.watching.ctx, true
}

// holds reports whether in is still the instance registered under its id,
// and whether it was revoked: its credential is valid while it is and was
// not.
func (r *Registry) holds(in *instance) (current, revoked bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.instances[in.id] == in, in.revoked
}

// refuseEnded answers 401, as its next call would hear, to a blocking
// query whose instance in was revoked, replaced or removed while it
// waited, and reports whether it did.
func (r *Registry) refuseEnded(w http.ResponseWriter, in *instance) bool {
	current, revoked := r.holds(in)
	if current && !revoked {
		return false
	}
	refuseUnknown(w, caller{present: true, revoked: revoked})
	return true
}

// watchContext is the context a blocking query of c waits in, and its
// cancel: it ends after wait, when the client goes away, when Run ends, or
// when c's instance stops being valid. ok is false, the query answered,
// when the instance is not valid already.
func (r *Registry) watchContext(w http.ResponseWriter, req *http.Request, c caller, wait time.Duration) (ctx context.Context, cancel func(), ok bool) {
	ctx, cancelWait := context.WithTimeout(req.Context(), wait)
	stopRun := context.AfterFunc(r.stopped, cancelWait)
	stopEnded := func() bool { return false }
	if c.holder != nil {
		ended, live := r.watchEndOf(c.holder)
		if !live {
			stopRun()
			cancelWait()
			r.refuseEnded(w, c.holder)
			return nil, nil, false
		}
		stopEnded = context.AfterFunc(ended, cancelWait)
	}
	return ctx, func() { stopRun(); stopEnded(); cancelWait() }, true
}

// refuseAfterWait answers 401, and reports whether it did, to a blocking
// query whose caller home no longer accepts after its wait: an instance
// revoked, replaced or removed, or an admin access token deleted (admin
// checks it again; nil for none). What was built during the wait goes to
// a caller valid now, not to one that was when the query came.
func (r *Registry) refuseAfterWait(w http.ResponseWriter, req *http.Request, c caller, admin func(*http.Request) bool) bool {
	switch {
	case c.holder != nil:
		return r.refuseEnded(w, c.holder)
	case c.role == roleAdmin && (admin == nil || !admin(req)):
		refuseUnknown(w, caller{present: true})
		return true
	}
	return false
}
