package agent

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/portolan/portolan/gossip"
	"github.com/portolan/portolan/registry"
)

// Agents known from gossip are on the map at the app address and port they
// registered with home (gossip.Meta.Addr), alive; an agent whose metadata
// carries no app address is at its gossip host, without a port, and nodes
// that are not agents are left out.
func TestGossipInstancesCarryAppAddress(t *testing.T) {
	members := []gossip.Member{
		{Name: "news-a1", Addr: "192.168.1.5:7946", Meta: gossip.Meta{Role: gossip.RoleAgent, Service: "news", InstanceID: "news-a1", Addr: "10.0.0.5:3000",
			Labels: gossip.EncodeLabels(map[string]string{"pool": "premium", "zone": "eu&1=a"})}},
		{Name: "news-b2", Addr: "192.168.1.6:7946", Meta: gossip.Meta{Role: gossip.RoleAgent, Service: "news", InstanceID: "news-b2", Addr: "[fd00::6]:8080"}},
		{Name: "news-c3", Addr: "192.168.1.7:7946", Meta: gossip.Meta{Role: gossip.RoleAgent, Service: "news"}},
		{Name: "news-d4", Addr: "192.168.1.8:7946", Meta: gossip.Meta{Role: gossip.RoleAgent, Service: "news", InstanceID: "news-d4", Addr: "10.0.0.8"}},
		{Name: "home", Addr: "192.168.1.1:7946", Meta: gossip.Meta{Role: gossip.RoleCoordinator, InstanceID: "home", Addr: "10.0.0.1:80"}},
	}
	assert.Equal(t, []registry.MapInstance{
		{ID: "news-a1", Service: "news", Address: "10.0.0.5", Port: 3000, Status: registry.StatusAlive,
			Labels: map[string]string{"pool": "premium", "zone": "eu&1=a"}},
		{ID: "news-b2", Service: "news", Address: "fd00::6", Port: 8080, Status: registry.StatusAlive},
		{ID: "news-c3", Service: "news", Address: "192.168.1.7", Status: registry.StatusAlive},
		{ID: "news-d4", Service: "news", Address: "192.168.1.8", Status: registry.StatusAlive}, // malformed: ignored
	}, gossipInstances(members))
}

// The agent announces its registered address and port, the same home has.
func TestAppAddrIsTheRegisteredEndpoint(t *testing.T) {
	a := &Agent{reg: registry.Registration{Address: "10.0.0.5", Port: 3000}}
	assert.Equal(t, "10.0.0.5:3000", a.appAddr())
	a.reg = registry.Registration{Address: "fd00::5", Port: 8080}
	assert.Equal(t, "[fd00::5]:8080", a.appAddr())
	a.reg = registry.Registration{Address: "10.0.0.5"}
	assert.Equal(t, "10.0.0.5:0", a.appAddr(), "an app without a port")
	a.reg = registry.Registration{}
	assert.Empty(t, a.appAddr())
}

// Labels travel in gossip metadata query-encoded and come back whole; ones
// too long for memberlist's metadata are refused by CheckMeta (the agent then
// leaves them out).
func TestGossipLabelsRoundTrip(t *testing.T) {
	labels := map[string]string{"pool": "premium", "odd key": "a,b&c=d%"}
	m := gossip.Meta{Role: gossip.RoleAgent, Labels: gossip.EncodeLabels(labels)}
	assert.Equal(t, labels, m.LabelMap())
	assert.NoError(t, gossip.CheckMeta(m))
	assert.Nil(t, gossip.Meta{}.LabelMap())
	assert.Nil(t, gossip.Meta{Labels: "%zz"}.LabelMap(), "malformed: none")
	long := gossip.Meta{Role: gossip.RoleAgent, Labels: gossip.EncodeLabels(map[string]string{"k": string(make([]byte, 600))})}
	assert.Error(t, gossip.CheckMeta(long))
}

// While home is away the gossip view keeps only the instances of home's last
// map, at home's address, port and labels: what a node claims in gossip
// metadata never becomes a route. Before home answered once, none.
func TestGossipViewKeepsOnlyHomesInstances(t *testing.T) {
	a := &Agent{}
	gossiped := []registry.MapInstance{
		{ID: "news-a1", Service: "news", Address: "10.0.0.5", Port: 3000, Status: registry.StatusAlive},
		{ID: "news-a1", Service: "news", Address: "10.6.6.6", Port: 6666, Status: registry.StatusAlive}, // a second claim to the id
		{ID: "news-b2", Service: "news", Address: "10.6.6.6", Port: 6666, Status: registry.StatusAlive,
			Labels: map[string]string{"pool": "premium"}}, // claims another address and the premium pool
		{ID: "evil-1", Service: "news", Address: "10.6.6.6", Port: 6666, Status: registry.StatusAlive},
		{ID: "news-c3", Service: "weather", Address: "10.0.0.7", Port: 3000, Status: registry.StatusAlive},
	}
	assert.Empty(t, a.registeredByHome(gossiped), "home never answered: no peer is routable")

	a.registered.Store(&homeInstances{
		"news-a1": {ID: "news-a1", Service: "news", Address: "10.0.0.5", Port: 3000, Status: registry.StatusPassing},
		"news-b2": {ID: "news-b2", Service: "news", Address: "10.0.0.6", Port: 3000, Status: registry.StatusPassing,
			Labels: map[string]string{"pool": "basic"}},
		"news-c3": {ID: "news-c3", Service: "news", Address: "10.0.0.7", Port: 3000, Status: registry.StatusPassing},
	})
	assert.Equal(t, []registry.MapInstance{
		{ID: "news-a1", Service: "news", Address: "10.0.0.5", Port: 3000, Status: registry.StatusAlive},
		{ID: "news-b2", Service: "news", Address: "10.0.0.6", Port: 3000, Status: registry.StatusAlive, Labels: map[string]string{"pool": "basic"}},
	}, a.registeredByHome(gossiped))
}
