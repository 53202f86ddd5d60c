package agent_test

import (
	"context"
	"encoding/json"
	"os/exec"
	"syscall"
	"testing"
	"time"

	consul "github.com/hashicorp/consul/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/consulcatalog"
)

// A draining agent on Consul is draining on maps read from the catalog
// (`portolan map --consul`, home following the catalog), as on home's own
// map, not critical; its check is critical all the same, so Consul's
// health queries (and DNS) stop sending traffic to it.
func TestDrainingInstanceShowsDrainingInConsulMaps(t *testing.T) {
	t.Parallel()
	bin := testenv.Binary(t) // built before the drain's few seconds start
	cs := testenv.StartConsul(t)
	client := cs.Client(t)
	a := testenv.StartAgentAt(t, "", "--consul", cs.URL, "--service", "newsapi", "--address", "127.0.0.1",
		"--port", "3000", "--heartbeat", "5s", "--ttl", "20s", "--drain", "6s", "--", "sleep", "300")
	id := a.ID()
	reader := consulcatalog.New(client)
	statusOf := func() string {
		list, err := reader.Instances(context.Background(), "")
		if err != nil {
			return "error: " + err.Error()
		}
		for _, in := range list {
			if in.ID == id {
				return in.Status
			}
		}
		return "absent"
	}
	require.Eventually(t, func() bool { return statusOf() == registry.StatusPassing },
		10*time.Second, 20*time.Millisecond, "passing:\n%s", a.Output)

	a.Signal(syscall.SIGTERM)
	require.Eventually(t, func() bool { return statusOf() == registry.StatusDraining },
		3*time.Second, 20*time.Millisecond, "draining on the catalog's map well before the next heartbeat (5s)")
	assert.Equal(t, consul.HealthCritical, checkStatus(t, client, "newsapi", id), "the check of a draining instance")
	passing, _, err := client.Health().Service("newsapi", "", true, nil)
	require.NoError(t, err)
	assert.Empty(t, passing, "Consul's passing set still holds the draining instance")

	out, err := exec.Command(bin, "map", "--consul", cs.URL, "-o", "json").CombinedOutput()
	require.NoError(t, err, "%s", out)
	var m registry.Map
	require.NoError(t, json.Unmarshal(out, &m), "%s", out)
	require.Len(t, m.Services, 1, "%s", out)
	require.Len(t, m.Services[0].Instances, 1, "%s", out)
	assert.Equal(t, registry.StatusDraining, m.Services[0].Instances[0].Status, "portolan map --consul: %s", out)

	_, exited := a.Wait(15 * time.Second)
	require.True(t, exited)
	assert.Equal(t, "absent", statusOf(), "deregistered once the command exited")
}
