package registry

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"

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
