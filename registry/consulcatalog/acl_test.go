package consulcatalog_test

import (
	"context"
	"testing"
	"time"

	consul "github.com/hashicorp/consul/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/consulcatalog"
)

// aclCatalog starts Consul with ACLs, registers one Portolan instance with
// the management token and waits until the catalog holds it.
func aclCatalog(t *testing.T) *testenv.Consul {
	t.Helper()
	cs := testenv.StartConsulACL(t)
	register(t, cs.Client(t), "news-a", "news", consul.HealthPassing, "plan:basic")
	require.Eventually(t, func() bool {
		list, err := consulcatalog.New(cs.Client(t)).Instances(context.Background(), "")
		return err == nil && len(list) == 1
	}, 10*time.Second, 20*time.Millisecond, "the instance reaches the catalog")
	return cs
}

// Consul leaves out of an answer what the token may not read, and says so
// only in X-Consul-Results-Filtered-By-ACLs (seen from the real Consul 1.15;
// the ACL words are hashicorp/consul acl/errors.go's). A health answer
// filtered for want of node:read would draw a map without the instances:
// Instances fails instead, naming the rule the token lacks.
func TestInstancesHiddenByACLsAreAnErrorNamingTheRule(t *testing.T) {
	cs := aclCatalog(t)
	for name, tc := range map[string]struct{ rules, want string }{
		"no node read":    {`service_prefix "" { policy = "read" }`, `node_prefix "" { policy = "read" }`},
		"no service read": {`node_prefix "" { policy = "read" }`, `service_prefix "" { policy = "read" }`},
	} {
		t.Run(name, func(t *testing.T) {
			r := consulcatalog.New(cs.ClientWithToken(t, cs.Token(t, "map-"+tc.want[:4], tc.rules)))
			list, err := r.Instances(context.Background(), "")
			require.Error(t, err, "an empty map instead: %v", list)
			assert.Contains(t, err.Error(), tc.want)
			assert.Contains(t, err.Error(), "--consul-token")
		})
	}
}

// The map reader's policy in the README, read on services and nodes, is
// all that reading the map takes, in Instances and in Watch.
func TestMapReaderPolicyReadsTheInstances(t *testing.T) {
	cs := aclCatalog(t)
	tok := cs.Token(t, "map-reader", `service_prefix "" { policy = "read" }
node_prefix "" { policy = "read" }`)
	r := consulcatalog.New(cs.ClientWithToken(t, tok))
	list, err := r.Instances(context.Background(), "")
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "news-a", list[0].ID)
	assert.Equal(t, registry.StatusPassing, list[0].Status)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got := make(chan []registry.MapInstance, 1)
	go r.Watch(ctx, "", func(l []registry.MapInstance) {
		select {
		case got <- l:
		default:
		}
	}, func(err error) { t.Errorf("watch: %v", err) })
	select {
	case l := <-got:
		assert.Len(t, l, 1)
	case <-ctx.Done():
		t.Fatal("no list from Watch within 10s")
	}
	cancel()
}

// A token Consul does not know says to check the token.
func TestInstancesWithAnUnknownTokenSaysToCheckIt(t *testing.T) {
	cs := aclCatalog(t)
	r := consulcatalog.New(cs.ClientWithToken(t, "00000000-0000-4000-8000-000000000000"))
	_, err := r.Instances(context.Background(), "")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ACL not found")
	assert.Contains(t, err.Error(), "check --consul-token")
}
