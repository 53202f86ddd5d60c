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
	"github.com/portolan/portolan/registry"
)

// serviceMap is what GET /v1/agent/map answers: home's map when home answers,
// with the nodes only gossip knows added; gossip's alone, drawn on the cached
// composition, when home is unreachable.
func (a *Agent) serviceMap(ctx context.Context) (*registry.Map, error) {
	node := a.node.Load()
	var members []gossip.Member
	if node != nil {
		members = node.Members()
	}
	if a.home != nil {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		m, _, err := a.home.Map(ctx, 0, 0, "")
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
	m := registry.DrawMap(snap, 0, gossipInstances(members))
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
