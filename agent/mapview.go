package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"time"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/gossip"
	"github.com/portolan/portolan/internal/backoff"
	"github.com/portolan/portolan/registry"
)

// serviceMap is what GET /v1/agent/map answers: home's map when home answers,
// with the nodes only gossip knows added (alive, never passing: the gateway
// does not route to them); gossip's alone, drawn on the cached composition,
// when home is unreachable, and then only the instances home registered
// (see registeredByHome).
func (a *Agent) serviceMap(ctx context.Context) (*registry.Map, error) {
	node := a.node.Load()
	var members []gossip.Member
	if node != nil {
		members = node.Members()
	}
	if a.home != nil {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		m, _, err := a.homeMap(ctx, 0, 0)
		cancel()
		if err == nil {
			m.View = registry.ViewHome
			if node != nil {
				m.View = registry.ViewHomeGossip
				a.addGossipOnly(m, members)
			}
			return m, nil
		}
	}
	if node == nil {
		return nil, fmt.Errorf("home is unreachable and gossip is off: no map to show")
	}
	snap := composition.New()
	if _, doc := a.comp.document(); doc != nil {
		var d composition.Document
		if err := json.Unmarshal(doc, &d); err == nil {
			if c, err := d.Composition(); err == nil {
				snap = c
			}
		}
	}
	m := registry.DrawMap(snap, 0, a.registeredByHome(gossipInstances(members)))
	m.View = registry.ViewGossip
	return &m, nil
}

// gossipInstances are the agents among members, as map instances at the
// app address each registered with home (Meta.Addr).
func gossipInstances(members []gossip.Member) []registry.MapInstance {
	var out []registry.MapInstance
	for _, mb := range members {
		if mb.Meta.Role != gossip.RoleAgent {
			continue
		}
		host, port, ok := mb.Meta.Endpoint()
		if !ok { // an agent that does not say: its gossip host, no port
			host, _, _ = net.SplitHostPort(mb.Addr)
		}
		id := mb.Meta.InstanceID
		if id == "" {
			id = mb.Name
		}
		out = append(out, registry.MapInstance{ID: id, Service: mb.Meta.Service, Address: host, Port: port,
			Labels: mb.Meta.LabelMap(), Status: registry.StatusAlive})
	}
	return out
}

// addGossipOnly adds to home's map the agents gossip knows and home does not.
func (a *Agent) addGossipOnly(m *registry.Map, members []gossip.Member) {
	known := map[string]bool{}
	for _, s := range m.Services {
		for _, in := range s.Instances {
			known[in.ID] = true
		}
	}
	for _, in := range gossipInstances(members) {
		if known[in.ID] {
			continue
		}
		i := slices.IndexFunc(m.Services, func(s registry.MapService) bool { return s.Name == in.Service })
		if i < 0 {
			m.Services = append(m.Services, registry.MapService{Name: in.Service, Plans: []registry.PlanRef{}, Placements: []registry.MapPlacement{}})
			i = len(m.Services) - 1
		}
		m.Services[i].Instances = append(m.Services[i].Instances, in)
	}
}

// homeInstances are the instances of a map home answered, by id.
type homeInstances map[string]registry.MapInstance

// homeMap asks home for its service map (blocking past index up to wait) and
// remembers which instances home registered, for the gossip view to draw on
// while home is away.
func (a *Agent) homeMap(ctx context.Context, index uint64, wait time.Duration) (*registry.Map, uint64, error) {
	m, idx, err := a.home.Map(ctx, index, wait, "")
	if err != nil {
		return nil, idx, err
	}
	known := homeInstances{}
	for _, s := range m.Services {
		for _, in := range s.Instances {
			known[in.ID] = in
		}
	}
	a.registered.Store(&known)
	return m, idx, nil
}

// followHomeMap keeps the instances home registered current for the gossip
// view of an agent without a gateway (a gateway's own watch does it
// otherwise), so that its map still lists every live node once home is
// unreachable. It returns when ctx ends.
func (a *Agent) followHomeMap(ctx context.Context) {
	retry := backoff.Backoff{Min: 100 * time.Millisecond, Max: 5 * time.Second}
	var index uint64
	for ctx.Err() == nil {
		_, idx, err := a.watchMap(ctx, index)
		if err == nil {
			index = idx
			retry.Reset()
			continue
		}
		a.log.Debug().Err(err).Msg("gossip view: home's map")
		if !retry.Wait(ctx) {
			return
		}
	}
}

// registeredByHome keeps, of the instances gossip says are alive, those home
// registered in the last map it answered, each at the address, port and
// labels home has for it: gossip metadata is what a node claims of itself,
// and a node that holds the gossip key but no registration (or claims
// another's id with its own address) must not draw traffic. Before home has
// answered once, no peer is routable.
func (a *Agent) registeredByHome(gossiped []registry.MapInstance) []registry.MapInstance {
	p := a.registered.Load()
	if p == nil {
		return nil
	}
	var out []registry.MapInstance
	seen := map[string]bool{}
	for _, in := range gossiped {
		h, ok := (*p)[in.ID]
		if !ok || h.Service != in.Service || seen[in.ID] {
			a.log.Debug().Str("instance", in.ID).Str("address", in.Address).Msg("gossip view: left out an instance home did not register (or a second claim to its id)")
			continue
		}
		seen[in.ID] = true
		out = append(out, registry.MapInstance{ID: h.ID, Service: h.Service, Address: h.Address, Port: h.Port,
			Labels: h.Labels, Status: registry.StatusAlive, AgentVersion: h.AgentVersion})
	}
	return out
}
