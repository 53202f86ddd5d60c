package consulcatalog_test

import (
	"context"
	"testing"

	consul "github.com/hashicorp/consul/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/consulcatalog"
)

// registerDraining registers a service as a draining agent leaves it: Meta
// draining, its TTL check fed critical with the agent's draining output
// (a change of status, which Consul syncs to the catalog at once, output
// and all).
func registerDraining(t *testing.T, cl *consul.Client, id, ttl string) {
	t.Helper()
	require.NoError(t, cl.Agent().ServiceRegister(&consul.AgentServiceRegistration{
		ID: id, Name: "news", Address: "10.0.0.7", Port: 8080, Tags: []string{"portolan"},
		Meta:  map[string]string{"instance_id": id, consulcatalog.MetaDraining: consulcatalog.MetaTrue},
		Check: &consul.AgentServiceCheck{CheckID: "service:" + id, TTL: ttl, Status: consul.HealthPassing},
	}))
	require.NoError(t, cl.Agent().UpdateTTL("service:"+id, "draining: the instance is stopping", consul.HealthCritical))
}

// statuses reads the map's status of every instance of news.
func statuses(t *testing.T, r *consulcatalog.Reader) map[string]string {
	t.Helper()
	list, err := r.Instances(context.Background(), "")
	require.NoError(t, err)
	out := map[string]string{}
	for _, in := range list {
		out[in.ID] = in.Status
	}
	return out
}

// A draining instance (Meta draining, check critical) is draining on the
// map, as home's registry shows it, and out of Consul's passing set; one
// merely critical stays critical. (A draining one whose node failed or whose
// TTL expired is critical: TestDrainingFlagYieldsToAFailedNodeOrExpiredTTL.)
func TestDrainingInstanceShowsDrainingInConsulMaps(t *testing.T) {
	c := testenv.StartConsul(t)
	cl := c.Client(t)
	registerDraining(t, cl, "news-draining", "1h")
	register(t, cl, "news-failing", "news", consul.HealthCritical)
	register(t, cl, "news-up", "news", consul.HealthPassing)
	r := consulcatalog.New(cl)

	got := statuses(t, r)
	assert.Equal(t, registry.StatusDraining, got["news-draining"], "Meta says draining and the agent feeds its check")
	assert.Equal(t, registry.StatusCritical, got["news-failing"])
	assert.Equal(t, registry.StatusPassing, got["news-up"])

	list, err := r.Instances(context.Background(), "")
	require.NoError(t, err)
	for _, in := range list {
		if in.ID == "news-draining" {
			assert.Equal(t, "draining: the instance is stopping", in.Output)
		}
	}
	m := consulcatalog.Map(list)
	require.Len(t, m.Services, 1)
	for _, in := range m.Services[0].Passing() {
		assert.NotEqual(t, "news-draining", in.ID, "a draining instance is in the map's passing set")
	}

	passing, _, err := cl.Health().Service("news", "portolan", true, nil)
	require.NoError(t, err)
	for _, e := range passing {
		assert.NotEqual(t, "news-draining", e.Service.ID, "Consul still routes to a draining instance")
	}

}
