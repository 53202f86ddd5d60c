package agent_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	consul "github.com/hashicorp/consul/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/registry/consulcatalog"
)

// catalogEntry returns the catalog's registration of instance id of service.
func catalogEntry(t *testing.T, client *consul.Client, service, id string) (*consul.CatalogService, bool) {
	t.Helper()
	entries, _, err := client.Catalog().Service(service, "", nil)
	if err != nil {
		return nil, false
	}
	for _, e := range entries {
		if e.ServiceID == id {
			return e, true
		}
	}
	return nil, false
}

// checkStatus is the status of the instance's TTL check in Consul's health
// view; "absent" when Consul has no such check.
func checkStatus(t *testing.T, client *consul.Client, service, id string) string {
	t.Helper()
	checks, _, err := client.Health().Checks(service, nil)
	if err != nil {
		return "error: " + err.Error()
	}
	for _, c := range checks {
		if c.ServiceID == id && c.CheckID == "service:"+id { // the TTL check, not maintenance mode's
			return c.Status
		}
	}
	return "absent"
}

// With home and Consul, the instance is in the Consul catalog with its plans as
// tags, its identity, revision and labels in Meta, a passing TTL check, and it
// leaves the catalog when its command exits.
func TestConsulRegistrationTagsMetaAndPassing(t *testing.T) {
	t.Parallel()
	co := testenv.StartCoordinator(t)
	cs := testenv.StartConsul(t)
	client := cs.Client(t)
	sid := co.Create(t, "/admin/api/services.json", "name=News&system_name=newsapi")
	co.Create(t, "/admin/api/services/"+sid+"/application_plans.json", "name=Basic")
	co.Create(t, "/admin/api/services/"+sid+"/application_plans.json", "name=Premium")
	rev := co.Revision(t)

	a := testenv.StartAgent(t, co, "--consul", cs.URL, "--service", "newsapi", "--address", "127.0.0.1", "--port", "3000",
		"--label", "tier=gold", "--label", "zone=eu-1", "--heartbeat", "200ms", "--ttl", "1s", "--", "sleep", "300")
	id := a.ID()

	var e *consul.CatalogService
	require.Eventually(t, func() bool {
		var ok bool
		e, ok = catalogEntry(t, client, "newsapi", id)
		return ok && slices.Contains(e.ServiceTags, "plan:premium")
	}, 10*time.Second, 20*time.Millisecond, "registered in the catalog with its plans:\n%s", a.Output)
	assert.ElementsMatch(t, []string{"portolan", "plan:basic", "plan:premium"}, e.ServiceTags)
	assert.Equal(t, "127.0.0.1", e.ServiceAddress)
	assert.Equal(t, 3000, e.ServicePort)
	assert.Equal(t, id, e.ServiceMeta["instance_id"])
	assert.Equal(t, strconv.FormatUint(rev, 10), e.ServiceMeta["composition_revision"])
	assert.Equal(t, "gold", e.ServiceMeta["label_tier"])
	assert.Equal(t, "eu-1", e.ServiceMeta["label_zone"])

	require.Eventually(t, func() bool { return checkStatus(t, client, "newsapi", id) == consul.HealthPassing },
		5*time.Second, 20*time.Millisecond, "the TTL check goes passing")
	// It stays passing over several TTLs: the heartbeat feeds it.
	time.Sleep(2500 * time.Millisecond)
	assert.Equal(t, consul.HealthPassing, checkStatus(t, client, "newsapi", id))

	a.Signal(syscall.SIGTERM)
	_, exited := a.Wait(15 * time.Second)
	require.True(t, exited)
	_, ok := catalogEntry(t, client, "newsapi", id)
	assert.False(t, ok, "deregistered from Consul when the command exited")
}

// kill -9 leaves the registration behind: the TTL check turns critical after
// the TTL, and Consul removes the service after DeregisterCriticalServiceAfter.
// Consul 1.15 raises that to at least 1m and reaps every 30s, so removal takes
// between 60s and 90s after the check turned critical.
func TestConsulKill9TurnsCriticalThenRemoved(t *testing.T) {
	t.Parallel()
	cs := testenv.StartConsul(t)
	client := cs.Client(t)
	a := testenv.StartAgentAt(t, "", "--consul", cs.URL, "--service", "worker", "--address", "127.0.0.1", "--port", "4000",
		"--heartbeat", "200ms", "--ttl", "1s", "--consul-deregister-after", "1s", "--", "sleep", "300")
	id := a.ID()
	require.Eventually(t, func() bool { return checkStatus(t, client, "worker", id) == consul.HealthPassing },
		10*time.Second, 20*time.Millisecond, "passing:\n%s", a.Output)
	e, ok := catalogEntry(t, client, "worker", id)
	require.True(t, ok)
	assert.Equal(t, []string{"portolan"}, e.ServiceTags, "no plans without home")

	a.Kill9()
	killed := time.Now()
	require.Eventually(t, func() bool { return checkStatus(t, client, "worker", id) == consul.HealthCritical },
		5*time.Second, 20*time.Millisecond, "critical after the TTL")
	critical := time.Since(killed)
	t.Logf("critical %v after kill -9 (TTL 1s)", critical)
	assert.GreaterOrEqual(t, critical, 900*time.Millisecond, "not critical before the TTL ran out")

	if testing.Short() {
		t.Skip("-short: not waiting 60-90s for Consul to remove the service")
	}
	require.Eventually(t, func() bool { _, ok := catalogEntry(t, client, "worker", id); return !ok },
		100*time.Second, 250*time.Millisecond, "removed after DeregisterCriticalServiceAfter (1m minimum, 30s reaper)")
	t.Logf("removed %v after kill -9", time.Since(killed))
}

// A dev Consul agent loses every registration when it restarts: the agent
// notices at its next TTL update and registers again.
func TestConsulRestartRegistersAgain(t *testing.T) {
	t.Parallel()
	cs := testenv.StartConsul(t)
	client := cs.Client(t)
	a := testenv.StartAgentAt(t, "", "--consul", cs.URL, "--service", "worker", "--address", "127.0.0.1", "--port", "4000",
		"--heartbeat", "200ms", "--ttl", "1s", "--", "sleep", "300")
	id := a.ID()
	require.Eventually(t, func() bool { return checkStatus(t, client, "worker", id) == consul.HealthPassing },
		10*time.Second, 20*time.Millisecond, "passing:\n%s", a.Output)

	cs.Restart()
	restarted := time.Now()
	require.Eventually(t, func() bool { return checkStatus(t, client, "worker", id) == consul.HealthPassing },
		10*time.Second, 20*time.Millisecond, "registered again and passing after the Consul restart:\n%s", a.Output)
	t.Logf("registered again %v after Consul came back", time.Since(restarted))
	a.Output.Contains(t, "consul does not know this instance") // the unknown check made it register again
	_, ok := catalogEntry(t, client, "worker", id)
	assert.True(t, ok)
}

// A draining instance leaves Consul's passing set at once, as it leaves
// home's (Consul's maintenance mode: a critical check of Consul's own),
// while its TTL check is still fed, saying "draining", as the command runs
// out its --drain time; then the service is deregistered.
func TestConsulDrainingLeavesThePassingSet(t *testing.T) {
	t.Parallel()
	cs := testenv.StartConsul(t)
	client := cs.Client(t)
	a := testenv.StartAgentAt(t, "", "--consul", cs.URL, "--service", "newsapi", "--address", "127.0.0.1",
		"--port", "3000", "--heartbeat", "30s", "--ttl", "90s", "--drain", "20s", "--", "sleep", "300")
	id := a.ID()
	require.Eventually(t, func() bool { return checkStatus(t, client, "newsapi", id) == consul.HealthPassing },
		10*time.Second, 20*time.Millisecond)
	a.Signal(syscall.SIGTERM)
	require.Eventually(t, func() bool {
		passing, _, err := client.Health().Service("newsapi", "", true, nil)
		return err == nil && len(passing) == 0
	}, 10*time.Second, 20*time.Millisecond, "out of the passing set well before the next heartbeat (30s)")
	checks, _, err := client.Health().Checks("newsapi", nil)
	require.NoError(t, err)
	require.Len(t, checks, 2, "the TTL check and maintenance mode's")
	for _, c := range checks {
		if c.CheckID == "service:"+id {
			// Its output says draining too, but Consul sends the catalog
			// an output whose status did not change only every
			// check_update_interval: Meta is what says so at once.
			assert.Equal(t, consul.HealthPassing, c.Status, "the TTL check is still fed")
		} else {
			assert.Equal(t, consul.HealthCritical, c.Status, "maintenance mode's check")
			assert.Equal(t, "_service_maintenance:"+id, c.CheckID)
		}
	}
	entry, ok := catalogEntry(t, client, "newsapi", id)
	require.True(t, ok)
	assert.Equal(t, consulcatalog.MetaTrue, entry.ServiceMeta[consulcatalog.MetaDraining])
	_, exited := a.Wait(45 * time.Second)
	require.True(t, exited)
	_, ok = catalogEntry(t, client, "newsapi", id)
	assert.False(t, ok, "deregistered once the command exited")
}

// A registration whose answer never comes (the agent stops meanwhile) may
// still have reached Consul: the agent deregisters anyway, rather than leave
// a critical service behind until Consul's deregister-after. A real Consul
// cannot be made to take a registration and hold its answer, so a listener
// that does stands in for it.
func TestConsulDeregistersAfterAnUnansweredRegistration(t *testing.T) {
	registering := make(chan struct{}, 1)
	deregistered := make(chan string, 1)
	ended := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/v1/agent/service/register":
			select {
			case registering <- struct{}{}:
			default:
			}
			select { // taken, never answered
			case <-r.Context().Done():
			case <-ended:
			}
		case strings.HasPrefix(r.URL.Path, "/v1/agent/service/deregister/"):
			deregistered <- strings.TrimPrefix(r.URL.Path, "/v1/agent/service/deregister/")
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(ended) }) // before srv.Close: cleanups run last first

	a := testenv.StartAgentAt(t, "", "--consul", srv.URL, "--service", "news", "--", "sleep", "300")
	id := a.ID()
	select {
	case <-registering:
	case <-time.After(10 * time.Second):
		t.Fatalf("the agent sent no registration:\n%s", a.Output)
	}
	a.Signal(syscall.SIGTERM)
	_, exited := a.Wait(15 * time.Second)
	require.True(t, exited)
	select {
	case got := <-deregistered:
		assert.Equal(t, id, got)
	default:
		t.Fatalf("the agent left its registration in Consul:\n%s", a.Output)
	}
}
