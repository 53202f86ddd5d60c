package gateway

import (
	"net"
	"net/url"
	"strconv"

	"github.com/portolan/portolan/registry"
)

// routes are, per service and plan, the passing instances a request
// of an application on that plan may go to when this instance does not serve
// the plan: plan-aware routing.
type routes struct {
	serviceID int64
	byPlan    map[int64][]*remoteTarget
}

// remoteTarget is an instance's app, at its registered address and port,
// over the scheme of --upstream.
type remoteTarget struct {
	base string
	up   *upstream
}

// SetMap publishes the routes of the view's service drawn from m, reusing
// the proxies of targets that were already known.
func (g *Gateway) SetMap(m *registry.Map) {
	if m == nil {
		return
	}
	g.routesMu.Lock()
	defer g.routesMu.Unlock()
	g.lastMap = m
	v := g.view.Load()
	if v == nil {
		return
	}
	prev := map[string]*remoteTarget{}
	if old := g.routes.Load(); old != nil {
		for _, ts := range old.byPlan {
			for _, t := range ts {
				prev[t.base] = t
			}
		}
	}
	rt := &routes{serviceID: v.serviceID, byPlan: map[int64][]*remoteTarget{}}
	for _, s := range m.Services {
		if s.ID != v.serviceID {
			continue
		}
		for _, in := range s.Instances {
			// Passing instances; and, while home is away (the gossip view),
			// those whose node gossip says is alive: their health is unknown.
			routable := in.Status == registry.StatusPassing ||
				(m.View == registry.ViewGossip && in.Status == registry.StatusAlive)
			if !routable || in.ID == g.self || in.Port <= 0 || in.Address == "" {
				continue
			}
			// A peer's app speaks what this instance's app speaks: the
			// instances of a service run one image with one configuration.
			base := g.localScheme + "://" + net.JoinHostPort(in.Address, strconv.Itoa(in.Port))
			t := prev[base]
			if t == nil {
				u, err := url.Parse(base)
				if err != nil {
					continue
				}
				t = &remoteTarget{base: base, up: g.newUpstream(u, false)}
				prev[base] = t
			}
			for _, plan := range in.Plans {
				rt.byPlan[plan.ID] = append(rt.byPlan[plan.ID], t)
			}
		}
	}
	g.routes.Store(rt)
}

// refreshRoutes draws the routes again from the last map, for a new view.
func (g *Gateway) refreshRoutes() {
	g.routesMu.Lock()
	m := g.lastMap
	g.routesMu.Unlock()
	g.SetMap(m)
}
