package agent_test

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/registry"
)

// The stop sequence toward home: whatever home is told while the agent
// stops (a registration, a drain), the last word is the agent's goodbye.

// A registration home has carried out but whose reply is still on its way
// when CMD exits is not dropped: the agent waits for the reply (bounded),
// so that it holds the credential and deregisters. Cut short, the
// registration would leave the instance on home's map, passing, for a
// dead app until its TTL ran out (the Consul side had the same race).
func TestRegistrationInFlightWhenCommandExitsIsDeregistered(t *testing.T) {
	co := testenv.StartCoordinator(t)
	home := holdFirstRegistration(t, co.URL, 2*time.Second) // within the agent's bound on a call home (5s)
	a := testenv.StartAgentAt(t, home.url, "--service", "newsapi", "--heartbeat", "200ms", "--ttl", "5s", "--", "sleep", "1")
	code, exited := a.Wait(30 * time.Second)
	require.True(t, exited, "the agent exits after its command")
	assert.Equal(t, 0, code, "the agent exits with its command's code")
	ids := home.registered()
	require.NotEmpty(t, ids, "the agent registered through the proxy")
	m := co.Map(t)
	for _, id := range ids {
		in, ok := testenv.FindInstance(m, id)
		assert.False(t, ok, "instance %s left on home's map (%s) after its agent exited", id, in.Status)
	}
}

// A SIGTERM that comes while the registration's reply is on its way (home
// has the instance, passing; the agent does not know yet) still drains it:
// the drain is sent once the registration is through, rather than skipped
// for an instance not registered yet, which would leave it passing, sent
// new traffic, for the whole drain.
func TestDrainDuringRegistrationIsNotLost(t *testing.T) {
	co := testenv.StartCoordinator(t)
	home := holdFirstRegistration(t, co.URL, 2*time.Second)
	a := testenv.StartAgentAt(t, home.url, "--service", "newsapi", "--heartbeat", "200ms", "--ttl", "5s",
		"--drain", "2m", "--stop-timeout", "2s", "--", "sleep", "300")
	select {
	case <-home.reached:
	case <-time.After(30 * time.Second):
		t.Fatal("the agent did not register")
	}
	id := home.registered()[0]
	a.Signal(syscall.SIGTERM) // the registration's reply is held meanwhile
	require.Eventually(t, func() bool { return statusOf(t, co, id) == registry.StatusDraining }, 15*time.Second, 20*time.Millisecond,
		"draining on home's map once the registration is through")
	a.Signal(syscall.SIGTERM) // ends the drain
	code, exited := a.Wait(30 * time.Second)
	require.True(t, exited)
	assert.Equal(t, 128+int(syscall.SIGTERM), code, "sleep died of the forwarded SIGTERM")
	assert.Equal(t, "absent", statusOf(t, co, id), "deregistered on exit")
}

// heldHome is a proxy to home that holds the reply to the first
// registration after home has carried it out.
type heldHome struct {
	url     string
	reached chan struct{} // closed when home has carried out the first registration
	mu      sync.Mutex
	ids     []string
}

// registered returns the ids registered through the proxy.
func (h *heldHome) registered() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.ids...)
}

func holdFirstRegistration(t *testing.T, home string, hold time.Duration) *heldHome {
	t.Helper()
	target, err := url.Parse(home)
	require.NoError(t, err)
	h := &heldHome{reached: make(chan struct{})}
	p := httputil.NewSingleHostReverseProxy(target)
	p.ModifyResponse = func(res *http.Response) error {
		id, ok := strings.CutPrefix(res.Request.URL.Path, registry.PathInstances)
		if res.Request.Method != http.MethodPut || !ok || strings.Contains(id, "/") || res.StatusCode != http.StatusOK {
			return nil
		}
		h.mu.Lock()
		h.ids = append(h.ids, id)
		first := len(h.ids) == 1
		h.mu.Unlock()
		if first {
			close(h.reached)
			time.Sleep(hold)
		}
		return nil
	}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	h.url = srv.URL
	return h
}

// An instance that is draining stays draining on home's map when home
// forgets it meanwhile (home restarted): the registration that brings it
// back is followed by a drain, not left passing, where it would be sent
// new traffic while its app is stopping.
func TestDrainingSurvivesHomeForgettingTheInstance(t *testing.T) {
	co := testenv.StartCoordinator(t)
	a := testenv.StartAgent(t, co, "--service", "newsapi", "--heartbeat", "200ms", "--ttl", "2s",
		"--drain", "2m", "--stop-timeout", "2s", "--", "sleep", "300")
	id := a.ID()
	require.Eventually(t, func() bool { return statusOf(t, co, id) == registry.StatusPassing }, 10*time.Second, 20*time.Millisecond)
	require.Eventually(t, func() bool { s, ok := a.Self(); return ok && s["registered"] == true }, 10*time.Second, 20*time.Millisecond,
		"the agent knows it is registered") // a SIGTERM before is TestDrainDuringRegistrationIsNotLost's
	a.Signal(syscall.SIGTERM)
	require.Eventually(t, func() bool { return statusOf(t, co, id) == registry.StatusDraining }, 10*time.Second, 20*time.Millisecond,
		"draining on home's map once the agent got SIGTERM")

	co.Stop()
	co.Start() // instances are soft state: home forgot it
	require.Eventually(t, func() bool { return statusOf(t, co, id) != "absent" }, 10*time.Second, 20*time.Millisecond,
		"the agent registers again with the restarted home")
	require.Eventually(t, func() bool { return statusOf(t, co, id) == registry.StatusDraining }, 10*time.Second, 20*time.Millisecond,
		"draining again on the restarted home's map")

	// A second SIGTERM ends the drain: the instance leaves the map.
	a.Signal(syscall.SIGTERM)
	code, exited := a.Wait(30 * time.Second)
	require.True(t, exited)
	assert.Equal(t, 128+int(syscall.SIGTERM), code, "sleep died of the forwarded SIGTERM")
	assert.Equal(t, "absent", statusOf(t, co, id), "deregistered on exit")
}

// A SIGTERM while --wait-home holds CMD's start, with the registration on
// its way, stops the agent before CMD runs; the registration it waited for
// is still followed by the goodbye, or the instance would stay on home's
// map, passing, with no app behind it, until its TTL ran out.
func TestStopWhileWaitingForHomeDeregisters(t *testing.T) {
	co := testenv.StartCoordinator(t)
	home := holdFirstRegistration(t, co.URL, 2*time.Second)
	a := testenv.StartAgentAt(t, home.url, "--service", "newsapi", "--heartbeat", "200ms", "--ttl", "30s",
		"--wait-home", "2m", "--", "sleep", "300")
	select {
	case <-home.reached:
	case <-time.After(30 * time.Second):
		t.Fatal("the agent did not register")
	}
	id := home.registered()[0]
	a.Signal(syscall.SIGTERM) // the registration's reply is held meanwhile
	_, exited := a.Wait(30 * time.Second)
	require.True(t, exited, "the agent stops without starting its command")
	assert.NotContains(t, a.Output.String(), "started command", "CMD was not started")
	assert.Equal(t, "absent", statusOf(t, co, id), "deregistered on exit:\n%s", a.Output)
}
