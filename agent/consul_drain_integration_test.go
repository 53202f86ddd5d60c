package agent_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"slices"
	"strings"
	"sync/atomic"
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
// map, not critical; Consul's maintenance mode takes it out of the passing
// set all the same, so Consul's health queries (and DNS) stop sending
// traffic to it.
func TestDrainingInstanceShowsDrainingInConsulMaps(t *testing.T) {
	t.Parallel()
	bin := testenv.Binary(t) // built before the drain's few seconds start
	cs := testenv.StartConsul(t)
	client := cs.Client(t)
	a := testenv.StartAgentAt(t, "", "--consul", cs.URL, "--service", "newsapi", "--address", "127.0.0.1",
		"--port", "3000", "--heartbeat", "30s", "--ttl", "90s", "--drain", "25s", "--", "sleep", "300")
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
		10*time.Second, 20*time.Millisecond, "draining on the catalog's map well before the next heartbeat (30s)")
	assert.Equal(t, consul.HealthPassing, checkStatus(t, client, "newsapi", id),
		"the TTL check of a draining instance is still fed, so that a kill shows as its expiry")
	// The draining registration and maintenance mode are two calls to
	// Consul (a registration replaces the service's checks), so the
	// catalog may show the first a moment before the second.
	assert.Eventually(t, func() bool {
		passing, _, err := client.Health().Service("newsapi", "", true, nil)
		return err == nil && len(passing) == 0
	}, 2*time.Second, 20*time.Millisecond, "Consul's passing set still holds the draining instance")

	out, err := exec.Command(bin, "map", "--consul", cs.URL, "-o", "json").CombinedOutput()
	require.NoError(t, err, "%s", out)
	var m registry.Map
	require.NoError(t, json.Unmarshal(out, &m), "%s", out)
	require.Len(t, m.Services, 1, "%s", out)
	require.Len(t, m.Services[0].Instances, 1, "%s", out)
	assert.Equal(t, registry.StatusDraining, m.Services[0].Instances[0].Status, "portolan map --consul: %s", out)

	_, exited := a.Wait(45 * time.Second)
	require.True(t, exited)
	assert.Equal(t, "absent", statusOf(), "deregistered once the command exited")
}

// delayDrainingRegistration is a transport in front of Consul that holds a
// registration carrying the draining flag for delay, then sends it even
// when its client has gone: a Consul that is slow to answer, and goes on
// with a request whose caller cancelled it.
type delayDrainingRegistration struct{ delay time.Duration }

func (d delayDrainingRegistration) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPut && r.URL.Path == "/v1/agent/service/register" && r.Body != nil {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if bytes.Contains(body, []byte(consulcatalog.MetaDraining)) {
			time.Sleep(d.delay)
			r = r.WithContext(context.WithoutCancel(r.Context()))
		}
	}
	return http.DefaultTransport.RoundTrip(r)
}

// An agent stopping with no drain sends the draining registration and
// exits at once; when Consul takes that registration after the agent's
// deregistration (it was in flight), the instance must not come back and
// stay in the catalog, critical, until Consul's deregister-after.
func TestStoppedAgentStaysDeregisteredWhenADrainingRegistrationWasInFlight(t *testing.T) {
	t.Parallel()
	testenv.Binary(t)
	cs := testenv.StartConsul(t)
	client := cs.Client(t)
	target, err := url.Parse(cs.URL)
	require.NoError(t, err)
	slow := httputil.NewSingleHostReverseProxy(target)
	slow.Transport = delayDrainingRegistration{delay: time.Second}
	front := httptest.NewServer(slow)
	t.Cleanup(front.Close)

	a := testenv.StartAgentAt(t, "", "--consul", front.URL, "--service", "newsapi", "--address", "127.0.0.1",
		"--port", "3000", "--heartbeat", "200ms", "--ttl", "10s", "--", "sleep", "300")
	id := a.ID()
	require.Eventually(t, func() bool { return checkStatus(t, client, "newsapi", id) == consul.HealthPassing },
		10*time.Second, 20*time.Millisecond, "registered:\n%s", a.Output)

	a.Signal(syscall.SIGTERM)
	_, exited := a.Wait(15 * time.Second)
	require.True(t, exited)
	time.Sleep(2 * time.Second) // the held registration has reached Consul by now
	services, err := client.Agent().Services()
	require.NoError(t, err)
	assert.NotContains(t, services, id, "a stopped agent's instance is in the catalog:\n%s", a.Output)
}

// An agent stopped while --wait-home holds CMD's start (home unreachable)
// has registered with Consul all the same: it deregisters there too, or
// the instance would stay in the catalog, critical once its TTL ran out,
// until Consul's deregister-after.
func TestStopWhileWaitingForHomeDeregistersFromConsul(t *testing.T) {
	t.Parallel()
	testenv.Binary(t)
	cs := testenv.StartConsul(t)
	client := cs.Client(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	home := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close()) // nothing answers there: home is down
	a := testenv.StartAgentAt(t, home, "--consul", cs.URL, "--service", "newsapi", "--address", "127.0.0.1",
		"--port", "3000", "--heartbeat", "200ms", "--ttl", "10s", "--wait-home", "2m", "--", "sleep", "300")
	id := a.ID()
	require.Eventually(t, func() bool { return checkStatus(t, client, "newsapi", id) == consul.HealthPassing },
		10*time.Second, 20*time.Millisecond, "registered with Consul while waiting for home:\n%s", a.Output)
	a.Signal(syscall.SIGTERM)
	_, exited := a.Wait(30 * time.Second)
	require.True(t, exited, "the agent stops without starting its command")
	services, err := client.Agent().Services()
	require.NoError(t, err)
	assert.NotContains(t, services, id, "a stopped agent's instance is in the catalog:\n%s", a.Output)
}

// failMaintenance is a transport in front of Consul that answers 500 to
// maintenance mode's calls while fail is set: a Consul that went away
// just as the drain began.
type failMaintenance struct{ fail *atomic.Bool }

func (f failMaintenance) RoundTrip(r *http.Request) (*http.Response, error) {
	if f.fail.Load() && strings.HasPrefix(r.URL.Path, "/v1/agent/service/maintenance/") {
		return &http.Response{StatusCode: http.StatusInternalServerError, Status: "500 Internal Server Error",
			Body: io.NopCloser(strings.NewReader("down")), Header: http.Header{}, Request: r}, nil
	}
	return http.DefaultTransport.RoundTrip(r)
}

// A draining instance whose maintenance mode did not take (Consul down as
// the drain began) and that Consul has then forgotten (restarted without
// its state) registers again, draining, as a passing one does: it is not
// left out of the catalog's maps for the rest of the drain.
func TestDrainingInstanceForgottenByConsulRegistersAgain(t *testing.T) {
	t.Parallel()
	testenv.Binary(t)
	cs := testenv.StartConsul(t)
	client := cs.Client(t)
	target, err := url.Parse(cs.URL)
	require.NoError(t, err)
	var fail atomic.Bool
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = failMaintenance{fail: &fail}
	front := httptest.NewServer(proxy)
	t.Cleanup(front.Close)

	a := testenv.StartAgentAt(t, "", "--consul", front.URL, "--service", "newsapi", "--address", "127.0.0.1",
		"--port", "3000", "--heartbeat", "200ms", "--ttl", "10s", "--drain", "2m", "--stop-timeout", "2s", "--", "sleep", "300")
	id := a.ID()
	require.Eventually(t, func() bool { return checkStatus(t, client, "newsapi", id) == consul.HealthPassing },
		10*time.Second, 20*time.Millisecond, "registered:\n%s", a.Output)
	fail.Store(true)
	a.Signal(syscall.SIGTERM)
	require.Eventually(t, func() bool { return strings.Contains(a.Output.String(), "maintenance mode failed") },
		15*time.Second, 20*time.Millisecond, "maintenance mode refused:\n%s", a.Output)
	require.NoError(t, client.Agent().ServiceDeregister(id)) // Consul forgot it
	fail.Store(false)
	require.Eventually(t, func() bool {
		entry, ok := catalogEntry(t, client, "newsapi", id)
		return ok && entry.ServiceMeta[consulcatalog.MetaDraining] == consulcatalog.MetaTrue
	}, 15*time.Second, 20*time.Millisecond, "registered again, draining:\n%s", a.Output)
	require.Eventually(t, func() bool {
		checks, _, err := client.Health().Checks("newsapi", nil)
		return err == nil && slices.ContainsFunc(checks, func(c *consul.HealthCheck) bool {
			return c.CheckID == "_service_maintenance:"+id && c.Status == consul.HealthCritical
		})
	}, 15*time.Second, 20*time.Millisecond, "back in maintenance mode:\n%s", a.Output)

	a.Signal(syscall.SIGTERM) // ends the drain
	_, exited := a.Wait(30 * time.Second)
	require.True(t, exited)
}
