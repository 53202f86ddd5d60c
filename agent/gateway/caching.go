package gateway

import (
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portolan/portolan/agent/gateway/policy"
)

// Home tells the gateway whether its agent reaches home: the caching
// policy's modes differ only while home is away (see policy/caching.go).
type Home interface {
	// Away reports whether home has not been reached within the agent's
	// bound (its TTL). It is called per request of a service whose chain
	// has a caching policy other than resilient, concurrently.
	Away() bool
}

// SetHome gives the gateway its agent's view of home; without one, home
// counts as reachable.
func (g *Gateway) SetHome(h Home) { g.caching.home.Store(&homeRef{h}) }

type homeRef struct{ Home }

// cachingState is what the caching modes need of the gateway.
type cachingState struct {
	home       atomic.Pointer[homeRef]
	authorized authorized
	// refused counts requests a mode refused while home was away;
	// uncounted those allow served though their usage could not be kept.
	refused, uncounted prometheus.Counter
}

func (s *cachingState) init(m *policy.Metrics) {
	s.refused = m.Policy.WithLabelValues("caching", "refused")
	s.uncounted = m.Policy.WithLabelValues("caching", "served_uncounted")
}

// maxAuthorized bounds the applications strict caching remembers; past it,
// a newly seen one is not remembered (and is refused while home is away).
const maxAuthorized = 1 << 20

// authorized is strict caching's cache: the applications this gateway
// authorized while home was reachable, dropped when one is denied.
type authorized struct {
	m sync.Map // app id → struct{}
	n atomic.Int64
}

func (a *authorized) remember(id int64) {
	if _, ok := a.m.Load(id); ok || a.n.Load() >= maxAuthorized {
		return
	}
	if _, loaded := a.m.LoadOrStore(id, struct{}{}); !loaded {
		a.n.Add(1)
	}
}

func (a *authorized) forget(id int64) {
	if _, loaded := a.m.LoadAndDelete(id); loaded {
		a.n.Add(-1)
	}
}

func (a *authorized) has(id int64) bool {
	_, ok := a.m.Load(id)
	return ok
}

// homeAway reports whether the request's caching mode must act as home is
// away: only strict, allow and none care, and only when home is.
func (g *Gateway) homeAway(c *policy.Context) bool {
	switch c.Caching {
	case policy.CachingStrict, policy.CachingAllow, policy.CachingNone:
		h := g.caching.home.Load()
		return h != nil && h.Away()
	}
	return false
}

// Answers of the caching modes while home is away.
var (
	cachingNoneBody   = []byte("Service Unavailable: home cannot be reached and the service's caching policy (none) keeps no authorization to serve from\n")
	cachingStrictBody = []byte("Service Unavailable: home cannot be reached and the service's caching policy (strict) serves only applications authorized while it was\n")
)

func (g *Gateway) cachingRefuse(c *policy.Context, body []byte) {
	g.caching.refused.Inc()
	c.Respond(http.StatusServiceUnavailable, plainText[0], body)
}
