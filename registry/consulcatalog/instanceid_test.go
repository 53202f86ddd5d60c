package consulcatalog_test

import (
	"context"
	"testing"

	consul "github.com/hashicorp/consul/api"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/consulcatalog"
)

type memStore struct{ *composition.Head }

func (m memStore) Close() error { m.Head.Close(); return nil }

// TestCatalogInstanceIsHomesIDNotTheIncarnations: an agent whose id home
// found taken draws a new one, which "home, ..., gossip metadata (peers
// match it to home's map) and Consul's instance_id say from then on", while
// "Consul's service id" keeps the incarnation's (agent/instanceid.go). The
// catalog's instance is home's id, so that an instance that both phones
// home and registers in Consul "is drawn once, from its heartbeats"
// (Registry.SetCatalog).
func TestCatalogInstanceIsHomesIDNotTheIncarnations(t *testing.T) {
	cl := testenv.StartConsul(t).Client(t)
	require.NoError(t, cl.Agent().ServiceRegister(&consul.AgentServiceRegistration{
		ID: "news-host-0a0b0c0d", Name: "news", Address: "10.0.0.7", Port: 8080, Tags: []string{"portolan"},
		Meta:  map[string]string{"instance_id": "news-host-1e2f3a4b"},
		Check: &consul.AgentServiceCheck{CheckID: "service:news-host-0a0b0c0d", TTL: "30s", Status: consul.HealthPassing},
	}))
	list, err := consulcatalog.New(cl).Instances(context.Background(), "")
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "news-host-1e2f3a4b", list[0].ID, "the map's id is home's, from Meta instance_id")

	nop := func(context.Context, []composition.Change, *composition.Composition) error { return nil }
	st := memStore{composition.NewHead(composition.New(), nop, nil)}
	defer st.Close()
	reg, err := registry.New(registry.Config{Store: st, Logger: zerolog.Nop()})
	require.NoError(t, err)
	_, err = reg.Register("news-host-1e2f3a4b", registry.Registration{Service: "news", Address: "10.0.0.7", Port: 8080})
	require.NoError(t, err)
	reg.SetCatalog(list)
	n := 0
	for _, s := range reg.Map().Services {
		n += len(s.Instances)
	}
	assert.Equal(t, 1, n, "an instance phoning home and registered in Consul is drawn once")
}
