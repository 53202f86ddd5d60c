package agent_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/client"
)

// squat registers id with token (scoped to service) as an agent would, and
// keeps it alive with heartbeats until the test ends. It returns its client,
// which holds the squatter's own credential.
func squat(t *testing.T, co *testenv.Coordinator, token, id, service string) (*client.Client, *registry.RegisterReply) {
	t.Helper()
	c, err := client.New(client.Config{Address: co.URL, Token: token})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	reply, err := c.Register(ctx, id, &registry.Registration{Service: service, Address: "127.0.0.1", Port: 1})
	require.NoError(t, err, "any join token registers an id home does not know")
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			_, _ = c.Heartbeat(ctx, id, &registry.Heartbeat{Status: registry.StatusPassing})
			select {
			case <-ctx.Done():
			case <-time.After(300 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return c, reply
}

// newIDOf waits until a is registered under an id other than oldID, and
// returns it.
func newIDOf(t *testing.T, a *testenv.Agent, oldID string) string {
	t.Helper()
	var id string
	require.Eventually(t, func() bool {
		self, ok := a.Self()
		if !ok || self["registered"] != true || self["id"] == oldID {
			return false
		}
		id = self["id"].(string)
		return true
	}, 10*time.Second, 20*time.Millisecond, "registered under a new id:\n%s", a.Output)
	return id
}

// TestSquattedIDAfterHomeRestartGetsANewID: instance ids are soft state at
// home, like the instances, and the map shows them. After home restarts, a
// holder of another service's join token registers a live gateway's id
// before the gateway does. The gateway is not locked out as by a refused
// token: home answers 409, and it registers at once under a new id, says
// why, and keeps serving; every request it served, before, while home was
// away (spooled) and after, is counted once. The squatter holds the old id
// and nothing of the victim's: its own credential and its own service's
// view alone.
func TestSquattedIDAfterHomeRestartGetsANewID(t *testing.T) {
	co := testenv.StartCoordinator(t)
	app, key := usageService(t, co, "victimapi", "period=day&value=1000000000")
	countedService(t, co, "Squat", "squatapi")
	victimTok := createJoinToken(t, co, registry.JoinTokenSpec{Service: "victimapi"})
	squatTok := createJoinToken(t, co, registry.JoinTokenSpec{Service: "squatapi"})

	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }))
	t.Cleanup(upstream.Close)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(upstream.URL, "http://"))
	relay := startRelay(t, co.Addr) // holds the victim back while the squatter registers
	gw := testenv.FreeAddr(t)
	a := testenv.StartAgentAt(t, relay.URL(), "--token", victimTok.Token, "--service", "victimapi",
		"--address", "127.0.0.1", "--port", port, "--gateway-listen", gw, "--upstream", upstream.URL,
		"--report-interval", "200ms", "--heartbeat", "300ms", "--ttl", "2s", "--", "sleep", "600")
	oldID := a.ID()
	url := "http://" + gw + "/items?user_key=" + key
	require.Eventually(t, func() bool { return get(t, url).status == http.StatusOK }, 15*time.Second, 20*time.Millisecond, "gateway serving")
	served := int64(1)
	require.Eventually(t, func() bool { return statusOf(t, co, oldID) == registry.StatusPassing }, 5*time.Second, 10*time.Millisecond)
	oldCred := credentialOf(t, a)

	// Home restarts while the victim cannot reach it: it forgets every
	// instance, and the squatter registers the victim's id (it read it on
	// the map) first. The victim serves meanwhile and spools its usage.
	relay.setCut(true)
	co.Stop()
	co.Start()
	squatter, squatReply := squat(t, co, squatTok.Token, oldID, "squatapi")
	for range 5 {
		require.Equal(t, http.StatusOK, get(t, url).status, "the gateway serves while home is away")
		served++
	}
	relay.setCut(false)

	newID := newIDOf(t, a, oldID)
	require.Eventually(t, func() bool { return statusOf(t, co, newID) == registry.StatusPassing }, 10*time.Second, 20*time.Millisecond,
		"passing under its new id:\n%s", a.Output)
	self, _ := a.Self()
	assert.Equal(t, false, self["home_refused"], "a taken id is no refusal of the token")
	assert.True(t, strings.HasPrefix(newID, "victimapi-"), "a new id of the same form: %s", newID)
	a.Output.Contains(t, "registering under a new id")
	assert.NotContains(t, a.Output.String(), "home refused the token")
	placement, err := os.ReadFile(a.PlacementFile)
	require.NoError(t, err)
	assert.Contains(t, string(placement), `"`+newID+`"`, "the placement file names the new id")
	in, _ := testenv.FindInstance(co.Map(t), newID)
	assert.Equal(t, "victimapi", in.Service)
	old, _ := testenv.FindInstance(co.Map(t), oldID)
	assert.Equal(t, "squatapi", old.Service, "the old id is the squatter's, in its own service")

	for range 5 {
		require.Equal(t, http.StatusOK, get(t, url).status, "the gateway serves under its new id")
		served++
	}
	require.Eventually(t, func() bool { return homeHits(t, co, app) >= served }, 10*time.Second, 50*time.Millisecond)
	time.Sleep(time.Second) // a few more report intervals: nothing more arrives
	assert.Equal(t, served, homeHits(t, co, app), "every request counted once, the spooled ones too")

	// The squatter holds its own credential, not the victim's (old or
	// new), and reads its own service's view, never the victim's.
	newCred := credentialOf(t, a)
	assert.NotEqual(t, oldCred, newCred)
	assert.NotEqual(t, newCred, squatReply.Credential)
	assert.NotEqual(t, oldCred, squatReply.Credential)
	doc, _, err := squatter.Composition(context.Background(), oldID, 0, 0)
	require.NoError(t, err)
	assert.Contains(t, string(doc), `"squatapi"`)
	assert.NotContains(t, string(doc), "victimapi", "no view of a service the squatter's token is not scoped to")
	_, _, err = squatter.Composition(context.Background(), newID, 0, 0)
	assert.Equal(t, http.StatusForbidden, client.StatusCode(err), "the squatter's credential acts on its own instance alone")
}

// TestNewIDReachesGossipPeers: while home is away, a peer's gossip view
// keeps only the instances home registered, matched by the id a node's
// metadata claims (TestGossipViewHoldsOnlyInstancesHomeRegistered). An
// agent that took a new id because another token's instance holds its old
// one carries the new id in its metadata, so peers still see it, at its
// own address, and not the squatter's service under its old id.
func TestNewIDReachesGossipPeers(t *testing.T) {
	gossipAddr := testenv.FreeAddr(t)
	co := testenv.StartCoordinator(t, "--gossip-bind", gossipAddr)
	createService(t, co, "news")
	createService(t, co, "other")
	victimTok := createJoinToken(t, co, registry.JoinTokenSpec{Service: "news"})
	squatTok := createJoinToken(t, co, registry.JoinTokenSpec{Service: "other"})
	args := []string{"--gossip-bind", "127.0.0.1:0", "--join", gossipAddr, "--service", "news", "--address", "127.0.0.2", "--heartbeat", "300ms", "--ttl", "1s"}
	peer := testenv.StartAgent(t, co, append(args, "--port", "3001", "--", "sleep", "60")...)
	relay := startRelay(t, co.Addr)
	victim := testenv.StartAgentAt(t, relay.URL(), append(args, "--token", victimTok.Token, "--port", "3002", "--", "sleep", "60")...)
	gossipAddrOf(t, peer)
	gossipAddrOf(t, victim)
	oldID := victim.ID()
	require.Eventually(t, func() bool { return statusOf(t, co, oldID) == registry.StatusPassing }, 5*time.Second, 10*time.Millisecond)

	relay.setCut(true)
	co.Stop()
	co.Start()
	squat(t, co, squatTok.Token, oldID, "other")
	relay.setCut(false)
	newID := newIDOf(t, victim, oldID)

	// The peer learns home's map with the new id, then home goes away.
	var m registry.Map
	require.Eventually(t, func() bool {
		out, err := mapVia(t, peer, "json")
		return err == nil && json.Unmarshal([]byte(out), &m) == nil && m.View == registry.ViewHomeGossip && countInstances(&m, []string{newID}) == 1
	}, 10*time.Second, 50*time.Millisecond)
	co.Stop()
	require.Eventually(t, func() bool {
		out, err := mapVia(t, peer, "json")
		return err == nil && json.Unmarshal([]byte(out), &m) == nil && m.View == registry.ViewGossip &&
			endpoints(&m)[newID] == "127.0.0.2:3002"
	}, 10*time.Second, 50*time.Millisecond, "the victim in the peer's gossip view under its new id")
	assert.Equal(t, map[string]string{peer.ID(): "127.0.0.2:3001", newID: "127.0.0.2:3002"}, endpoints(&m))
}

// TestNewIDInConsulMetaUnderTheSameService: Consul's service id is in the
// local Consul agent's own namespace, which no other join token reaches, so
// an agent that took a new id at home keeps its one Consul registration
// (no second entry, no gap in the passing set) and updates its
// instance_id Meta to the id home's map shows.
func TestNewIDInConsulMetaUnderTheSameService(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cs := testenv.StartConsul(t)
	cc := cs.Client(t)
	createService(t, co, "other")
	victimTok := createJoinToken(t, co, registry.JoinTokenSpec{Service: "newsapi"})
	squatTok := createJoinToken(t, co, registry.JoinTokenSpec{Service: "other"})
	relay := startRelay(t, co.Addr)
	a := testenv.StartAgentAt(t, relay.URL(), "--token", victimTok.Token, "--consul", cs.URL, "--service", "newsapi",
		"--address", "127.0.0.1", "--port", "3000", "--heartbeat", "200ms", "--ttl", "1s", "--", "sleep", "300")
	oldID := a.ID()
	require.Eventually(t, func() bool {
		e, ok := catalogEntry(t, cc, "newsapi", oldID)
		return ok && e.ServiceMeta["instance_id"] == oldID && statusOf(t, co, oldID) == registry.StatusPassing
	}, 10*time.Second, 20*time.Millisecond, "registered at home and in Consul:\n%s", a.Output)

	relay.setCut(true)
	co.Stop()
	co.Start()
	squat(t, co, squatTok.Token, oldID, "other")
	relay.setCut(false)
	newID := newIDOf(t, a, oldID)
	require.Eventually(t, func() bool {
		e, ok := catalogEntry(t, cc, "newsapi", oldID)
		return ok && e.ServiceMeta["instance_id"] == newID
	}, 5*time.Second, 20*time.Millisecond, "Consul's Meta names the new id")
	entries, _, err := cc.Catalog().Service("newsapi", "", nil)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "one registration in Consul")
	assert.Equal(t, "passing", checkStatus(t, cc, "newsapi", oldID))
}
