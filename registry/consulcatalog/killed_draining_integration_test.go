package consulcatalog_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/consulcatalog"
)

// An agent killed (SIGKILL: no deregistration) while it drains is
// critical on maps read from the catalog once its TTL has run out, as on
// home's own map, not draining until Consul deregisters it: draining says
// the instance is stopping in good order, and nobody is there to stop it.
func TestKilledDrainingAgentTurnsCriticalInConsulMapsOnceItsTTLExpired(t *testing.T) {
	t.Parallel()
	cs := testenv.StartConsul(t)
	client := cs.Client(t)
	// Consul keeps the service ten minutes after its check turns critical,
	// and syncs a critical check's new output to the catalog minutes late
	// (check_update_interval): the map must not wait for either.
	a := testenv.StartAgentAt(t, "", "--consul", cs.URL, "--consul-deregister-after", "10m",
		"--service", "newsapi", "--address", "127.0.0.1", "--port", "3000",
		"--heartbeat", "500ms", "--ttl", "5s", "--drain", "2m", "--", "sleep", "300")
	id := a.ID()
	reader := consulcatalog.New(client)
	// statusOf is the instance's status on the catalog's map, and its
	// check's output.
	statusOf := func() (string, string) {
		list, err := reader.Instances(context.Background(), "")
		if err != nil {
			return "error: " + err.Error(), ""
		}
		for _, in := range list {
			if in.ID == id {
				return in.Status, in.Output
			}
		}
		return "absent", ""
	}
	is := func(want string) func() bool {
		return func() bool { got, _ := statusOf(); return got == want }
	}
	passing := func() []string {
		entries, _, err := client.Health().Service("newsapi", "", true, nil)
		require.NoError(t, err)
		var ids []string
		for _, e := range entries {
			ids = append(ids, e.Service.ID)
		}
		return ids
	}
	require.Eventually(t, is(registry.StatusPassing), 15*time.Second, 20*time.Millisecond, "passing:\n%s", a.Output)

	a.Signal(syscall.SIGTERM)
	require.Eventually(t, is(registry.StatusDraining), 10*time.Second, 20*time.Millisecond, "draining on the catalog's map:\n%s", a.Output)
	require.Eventually(t, func() bool { return len(passing()) == 0 },
		10*time.Second, 20*time.Millisecond, "a draining instance leaves Consul's passing set")
	time.Sleep(6 * time.Second) // past a TTL: a live draining agent stays draining
	got, output := statusOf()
	assert.Equal(t, registry.StatusDraining, got, "a draining agent that feeds its check (%s)", output)

	a.Kill9()
	// Generous for a loaded machine, yet well short of Consul's deregister
	// after (10m) and of its deferred output sync (2.5 to 7.5 minutes).
	deadline := time.Now().Add(45 * time.Second)
	for got, _ = statusOf(); got != registry.StatusCritical && time.Now().Before(deadline); got, output = statusOf() {
		time.Sleep(100 * time.Millisecond)
	}
	assert.Equal(t, registry.StatusCritical, got, "a draining agent killed 45s ago (TTL 5s), on the catalog's map (%s)", output)
	assert.Empty(t, passing(), "the killed instance is out of Consul's passing set")
}
