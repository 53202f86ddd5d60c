package consulcatalog_test

import (
	"context"
	"sync"
	"testing"
	"time"

	consul "github.com/hashicorp/consul/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/consulcatalog"
)

// register registers a service as `portolan agent --consul` does, with a
// TTL check in the given status.
func register(t *testing.T, cl *consul.Client, id, name, status string, tags ...string) {
	t.Helper()
	require.NoError(t, cl.Agent().ServiceRegister(&consul.AgentServiceRegistration{
		ID: id, Name: name, Address: "10.0.0.7", Port: 8080, Tags: append([]string{"portolan"}, tags...),
		Meta:  map[string]string{"instance_id": id, "label_zone": "eu", "agent_version": "v9"},
		Check: &consul.AgentServiceCheck{CheckID: "service:" + id, TTL: "30s", Status: status},
	}))
}

func TestInstancesAcrossWANJoinedDatacenters(t *testing.T) {
	dc1, dc2 := testenv.StartConsulDC(t, "dc1"), testenv.StartConsulDC(t, "dc2")
	dc1.JoinWAN(dc2)
	c1, c2 := dc1.Client(t), dc2.Client(t)
	register(t, c1, "news-a", "news", consul.HealthPassing, "plan:basic")
	register(t, c2, "news-b", "news", consul.HealthCritical, "plan:gold")
	// not Portolan's: no tag
	require.NoError(t, c1.Agent().ServiceRegister(&consul.AgentServiceRegistration{ID: "db", Name: "db", Port: 5432}))

	r := consulcatalog.New(c1) // everything through dc1's agent
	ctx := context.Background()
	dcs, err := r.Datacenters(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"dc1", "dc2"}, dcs)

	var all []registry.MapInstance
	for _, dc := range dcs {
		list, err := r.Instances(ctx, dc)
		require.NoError(t, err)
		require.Len(t, list, 1, "datacenter %s", dc)
		all = append(all, list...)
	}
	a, b := all[0], all[1]
	assert.Equal(t, registry.MapInstance{ID: "news-a", Service: "news", Address: "10.0.0.7", Port: 8080,
		Labels: map[string]string{"zone": "eu"}, Status: "passing", AgentVersion: "v9", Datacenter: "dc1",
		Plans: []registry.PlanRef{{SystemName: "basic"}}}, a)
	assert.Equal(t, "dc2", b.Datacenter)
	assert.Equal(t, "critical", b.Status)

	m := consulcatalog.Map(all)
	require.Len(t, m.Services, 1)
	assert.Equal(t, "news", m.Services[0].Name)
	assert.Equal(t, []registry.PlanRef{{SystemName: "basic"}, {SystemName: "gold"}}, m.Services[0].Plans)
	assert.Len(t, m.Services[0].Instances, 2)

	_, err = r.Instances(ctx, "dc9")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "dc9")
}

// TestWatchFollowsChangesAndRestarts: the watch reports registrations and
// health changes, and after the Consul agent restarts empty (its index goes
// back) it starts over and reports what is registered again.
func TestWatchFollowsChangesAndRestarts(t *testing.T) {
	c := testenv.StartConsul(t)
	cl := c.Client(t)
	var mu sync.Mutex
	var last []registry.MapInstance
	seen := func() []registry.MapInstance { mu.Lock(); defer mu.Unlock(); return last }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		consulcatalog.New(cl).Watch(ctx, "", func(l []registry.MapInstance) { mu.Lock(); last = l; mu.Unlock() },
			func(error) {})
	}()
	defer func() { cancel(); <-done }()

	register(t, cl, "news-a", "news", consul.HealthCritical)
	require.Eventually(t, func() bool { l := seen(); return len(l) == 1 && l[0].Status == "critical" },
		10*time.Second, 20*time.Millisecond)
	require.NoError(t, cl.Agent().UpdateTTL("service:news-a", "ok", consul.HealthPassing))
	require.Eventually(t, func() bool { l := seen(); return len(l) == 1 && l[0].Status == "passing" && l[0].Output == "ok" },
		10*time.Second, 20*time.Millisecond, "a health change is seen through the blocking query")

	c.Restart()
	require.Eventually(t, func() bool { return len(seen()) == 0 }, 20*time.Second, 50*time.Millisecond)
	register(t, cl, "news-b", "news", consul.HealthPassing)
	require.Eventually(t, func() bool { l := seen(); return len(l) == 1 && l[0].ID == "news-b" },
		20*time.Second, 50*time.Millisecond, "after the index went back the watch starts over")
}
