package coordinator

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	consul "github.com/hashicorp/consul/api"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/httpjson"
)

// The probes an orchestrator calls: no token, no per-request metric label,
// and nothing in the answers but the names of the checks and one word each
// (no address, path or token). GET and HEAD both answer. Under
// --tls-client-ca the TLS handshake itself asks for a client certificate,
// so a probe must present one there.
const (
	PathHealthLive  = "/health/live"
	PathHealthReady = "/health/ready"
)

// consulProbeTimeout bounds the readiness call to Consul, and
// consulProbeCache is how long its answer is reused: probes every second
// from several orchestrators make at most one call to Consul a second.
const (
	consulProbeTimeout = 2 * time.Second
	consulProbeCache   = time.Second
)

// The words a check answers.
const (
	checkOK          = "ok"
	checkClosed      = "closed"
	checkUnreachable = "unreachable"
	checkNoLeader    = "no leader"
	checkNoClient    = "misconfigured"
	checkFailed      = "failed"
	checkBehind      = "behind"
)

// health answers /health/live and /health/ready.
type health struct {
	store  composition.Store
	usage  interface{ Err() error } // the usage store: its log refuses usage once it failed
	consul *consulProbe             // nil without Consul
}

func (c *Coordinator) newHealth() *health {
	h := &health{store: c.store, usage: c.usage}
	if c.cfg.Consul != nil {
		h.consul = &consulProbe{}
		// The same configuration opened the store, so it does not fail
		// here; if it did, the probe says so rather than the process.
		if client, err := c.cfg.Consul.client(); err == nil {
			h.consul.status = client.Status()
		}
	}
	return h
}

// live answers 200 while the process serves HTTP: nothing else is needed
// to answer it, so an orchestrator restarts only a process that stopped
// serving.
func (h *health) live(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte("ok\n"))
}

// readiness is the answer of /health/ready.
type readiness struct {
	Status string            `json:"status"` // "ok" or "unavailable"
	Checks map[string]string `json:"checks"` // check name → "ok" or what is wrong, in a word or two
}

// ready answers 200 when the composition store is open, the usage log
// takes usage (after a failed write or fsync it refuses every batch until
// home restarts: a full disk, say) and, in Consul mode, the Consul agent
// answers with a leader; else 503 naming the check that failed.
func (h *health) ready(w http.ResponseWriter, r *http.Request) {
	out := readiness{Status: checkOK, Checks: map[string]string{"store": storeCheck(h.store), "usage": usageCheck(h.usage)}}
	if h.consul != nil {
		out.Checks["consul"] = h.consul.check(r.Context())
	}
	code := http.StatusOK
	for _, v := range out.Checks {
		if v != checkOK {
			out.Status, code = "unavailable", http.StatusServiceUnavailable
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	httpjson.Write(w, code, out)
}

// storeCheck tells whether the store is open: its snapshot is read, and a
// Wait that cannot block (its context already ended) says whether the store
// was closed. It costs a lock, not a call: a Consul store's own reachability
// is the consul check. A Consul store that found Consul holding an older
// composition than it published (Consul lost its data) is "behind": every
// write is refused until an operator acts.
func storeCheck(s composition.Store) string {
	snap := s.Snapshot()
	if snap == nil {
		return checkClosed
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Wait(ctx, snap.Revision); errors.Is(err, composition.ErrClosed) {
		return checkClosed
	}
	if b, ok := s.(interface{ Err() error }); ok && b.Err() != nil {
		return checkBehind
	}
	return checkOK
}

// usageCheck tells whether the usage log takes usage; the reason it does
// not is in the coordinator's log, said once when it failed.
func usageCheck(u interface{ Err() error }) string {
	if u.Err() != nil {
		return checkFailed
	}
	return checkOK
}

// consulProbe asks the Consul agent for its leader, at most once per
// consulProbeCache: one caller asks while the others wait for its answer.
type consulProbe struct {
	status *consul.Status // nil: no client could be made

	mu     sync.Mutex
	at     time.Time
	answer string
}

func (p *consulProbe) check(ctx context.Context) string {
	if p.status == nil {
		return checkNoClient
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.at.IsZero() && time.Since(p.at) < consulProbeCache {
		return p.answer
	}
	ctx, cancel := context.WithTimeout(ctx, consulProbeTimeout)
	defer cancel()
	leader, err := p.status.LeaderWithQueryOptions((&consul.QueryOptions{}).WithContext(ctx))
	switch {
	case ctx.Err() != nil && err != nil:
		// The probe's own request ended, or Consul took too long: not
		// cached when the caller went away, so the next probe asks again.
		if errors.Is(ctx.Err(), context.Canceled) {
			return checkUnreachable
		}
		p.answer = checkUnreachable
	case err != nil:
		p.answer = checkUnreachable
	case leader == "":
		p.answer = checkNoLeader
	default:
		p.answer = checkOK
	}
	p.at = time.Now()
	return p.answer
}
