package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portolan/portolan/registry"
)

// gatewayRoutes are, per service and plan, the passing instances a request
// of an application on that plan may go to when this instance does not serve
// the plan: plan-aware routing.
type gatewayRoutes struct {
	serviceID int64
	byPlan    map[int64][]*remoteTarget
}

// remoteTarget is an instance's app, at its registered address and port.
type remoteTarget struct {
	base string
	up   *upstream
}

// setRoutes publishes the routes of the view's service drawn from m, reusing
// the proxies of targets that were already known.
func (g *gateway) setRoutes(m *registry.Map) {
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
	rt := &gatewayRoutes{serviceID: v.serviceID, byPlan: map[int64][]*remoteTarget{}}
	for _, s := range m.Services {
		if s.ID != v.serviceID {
			continue
		}
		for _, in := range s.Instances {
			// Passing instances; and, while home is away (the gossip view),
			// those whose node gossip says is alive: their health is unknown.
			routable := in.Status == registry.StatusPassing ||
				(m.View == ViewGossip && in.Status == registry.StatusAlive)
			if !routable || in.ID == g.self || in.Port <= 0 || in.Address == "" {
				continue
			}
			base := "http://" + net.JoinHostPort(in.Address, strconv.Itoa(in.Port))
			t := prev[base]
			if t == nil {
				u, err := url.Parse(base)
				if err != nil {
					continue
				}
				t = &remoteTarget{base: base, up: g.newUpstream(u)}
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
func (g *gateway) refreshRoutes() {
	g.routesMu.Lock()
	m := g.lastMap
	g.routesMu.Unlock()
	g.setRoutes(m)
}

// followMapForGateway keeps the gateway's routes current: a blocking watch
// of home's map, or, while home is unreachable, the gossip view every second.
func (a *Agent) followMapForGateway(ctx context.Context, g *gateway) {
	if a.home == nil && a.cfg.Gossip == nil {
		return
	}
	client := &http.Client{} // each call has its own deadline: a blocking query outlives homeCallTimeout
	retry := backoff{base: 100 * time.Millisecond, max: 2 * time.Second}
	var index uint64
	for ctx.Err() == nil {
		var (
			m   *registry.Map
			err error
		)
		if a.home != nil {
			m, err = a.home.watchMap(ctx, client, index, 30*time.Second)
			if err == nil {
				index = m.Index
			}
		}
		if (a.home == nil || err != nil) && a.node.Load() != nil {
			m, err = a.serviceMap(ctx) // the gossip view when home is down
			if err == nil {
				index = 0
				g.setRoutes(m)
				err = errors.New("polling the gossip view") // and wait before the next look
			}
		} else if err == nil {
			g.setRoutes(m)
			retry.reset()
			continue
		}
		if ctx.Err() == nil {
			a.log.Debug().Err(err).Msg("gateway: service map")
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(retry.next()):
		}
	}
}

// watchMap asks home for its service map newer than index, blocking up to wait.
func (h *homeClient) watchMap(ctx context.Context, client *http.Client, index uint64, wait time.Duration) (*registry.Map, error) {
	ctx, cancel := context.WithTimeout(ctx, wait+10*time.Second)
	defer cancel()
	u := h.base + "/v1/map?wait=" + wait.String()
	if index > 0 {
		u += "&index=" + strconv.FormatUint(index, 10)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+h.token)
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("watch home's map: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		return nil, fmt.Errorf("watch home's map: home answered %s: %s", resp.Status, b)
	}
	var m registry.Map
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxReplyBytes)).Decode(&m); err != nil {
		return nil, fmt.Errorf("decode home's map: %w", err)
	}
	return &m, nil
}

// gatewayMetrics count the gateway's requests by result, each label's
// counter resolved once so the request path only adds atomically.
type gatewayMetrics struct {
	forwarded, routed, authMissing, authFailed, noMatch, limitsExceeded, unrecorded,
	noInstance, unavailable, upstreamError, oidc, tooLarge prometheus.Counter
}

func newGatewayMetrics(reg *prometheus.Registry) *gatewayMetrics {
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "portolan_agent_gateway_requests_total",
		Help: "Requests the gateway answered, by result: forwarded (to the local app), routed (to another instance serving the plan), " +
			"auth_missing, auth_failed, no_match, limits_exceeded, no_instance, unavailable, oidc, too_large; " +
			"upstream_error counts forwarded or routed requests the app did not answer.",
	}, []string{"result"})
	if err := reg.Register(vec); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			vec = are.ExistingCollector.(*prometheus.CounterVec)
		}
	}
	c := vec.WithLabelValues
	return &gatewayMetrics{
		forwarded: c("forwarded"), routed: c("routed"), authMissing: c("auth_missing"), authFailed: c("auth_failed"),
		noMatch: c("no_match"), limitsExceeded: c("limits_exceeded"), noInstance: c("no_instance"),
		unrecorded:  c("usage_unrecorded"),
		unavailable: c("unavailable"), upstreamError: c("upstream_error"), oidc: c("oidc"), tooLarge: c("too_large"),
	}
}
