package coordinator

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/pki"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/client"
)

const ackAgentToken = "agent-token-for-gossip-key-acks"

// fakeClock is the keyring's clock, moved by the test.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// startKeyringHome runs a coordinator whose keyring follows clock, and
// returns it with an agent client of it.
func startKeyringHome(t *testing.T, clock *fakeClock) (*Coordinator, *client.Client) {
	t.Helper()
	c, err := New(Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), AgentToken: ackAgentToken, Logger: zerolog.Nop()})
	require.NoError(t, err)
	require.NotNil(t, c.keyring)
	c.keyring.now = clock.Now // before Run: nothing reads it yet
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	cl, err := client.New(client.Config{Address: "http://" + c.Addr(), Token: ackAgentToken})
	require.NoError(t, err)
	return c, cl
}

// heartbeatReplyLost sends a heartbeat of id on a connection of its own
// and hangs up once home starts answering, as an agent whose timeout ran
// out or whose connection was cut: home wrote the reply, nobody took it.
func heartbeatReplyLost(t *testing.T, c *Coordinator, id, credential string, hb string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", c.Addr(), 5*time.Second)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(5*time.Second)))
	_, err = fmt.Fprintf(conn, "PUT /v1/instances/%s%s HTTP/1.1\r\nHost: home\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", id, registry.PathHeartbeat, credential, len(hb), hb)
	require.NoError(t, err)
	status, err := bufio.NewReader(conn).ReadString('\n')
	require.NoError(t, err)
	require.Contains(t, status, " 200 ", "home answered the heartbeat")
}

// A rotation step whose heartbeat reply is lost reaches the agent on its
// next heartbeat: home counts it delivered when the agent names its
// version, not when home writes the reply.
func TestGossipKeyStepInALostReplyComesAgainOnTheNextHeartbeat(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	c, cl := startKeyringHome(t, clock)
	ctx := context.Background()
	reg, err := cl.Register(ctx, "news-1", &registry.Registration{Service: "news", Address: "10.0.0.1", Port: 80})
	require.NoError(t, err)
	require.Len(t, reg.GossipKeys, 1)
	require.Equal(t, uint64(1), reg.GossipKeysVersion)
	cl.SetCredential(reg.Credential)

	rot, err := c.keyring.Rotate()
	require.NoError(t, err)
	heartbeatReplyLost(t, c, "news-1", reg.Credential, `{"status":"passing","gossip_keys_version":1}`)
	hb, err := cl.Heartbeat(ctx, "news-1", &registry.Heartbeat{Status: registry.StatusPassing, GossipKeysVersion: 1})
	require.NoError(t, err)
	assert.Len(t, hb.GossipKeys, 2, "the step lost on the way comes again")
	assert.Equal(t, rot.Version, hb.GossipKeysVersion)
	hb, err = cl.Heartbeat(ctx, "news-1", &registry.Heartbeat{Status: registry.StatusPassing, GossipKeysVersion: rot.Version})
	require.NoError(t, err)
	assert.Empty(t, hb.GossipKeys, "acknowledged: not sent again")
}

// A rotation's next step waits for every agent that names its version to
// hold the step before: an agent that never acknowledged the new key is not
// left behind by the key becoming primary and the old one dropped. Once it
// acknowledges, the rotation goes on, each later step keeping its share of
// the grace.
func TestGossipKeyRotationWaitsForAnAgentThatHasNotAcknowledged(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	c, cl := startKeyringHome(t, clock)
	ctx := context.Background()
	reg, err := cl.Register(ctx, "news-1", &registry.Registration{Service: "news", Address: "10.0.0.1", Port: 80})
	require.NoError(t, err)
	cl.SetCredential(reg.Credential)
	beat := func(held uint64) registry.HeartbeatReply {
		t.Helper()
		hb, err := cl.Heartbeat(ctx, "news-1", &registry.Heartbeat{Status: registry.StatusPassing, GossipKeysVersion: held})
		require.NoError(t, err)
		return *hb
	}
	rot, err := c.keyring.Rotate()
	require.NoError(t, err)
	clock.Add(rot.DropOldAt.Sub(clock.Now())) // both steps fall due
	hb := beat(1)                             // the agent holds version 1 still
	assert.Equal(t, rot.Version, hb.GossipKeysVersion, "the rotation holds at the step the agent has not acknowledged")
	_, version := c.keyring.Current()
	assert.Equal(t, rot.Version, version)
	changed, next := c.keyring.watch()
	assert.True(t, next.After(clock.Now()), "home's own gossip node does not poll a held step in a loop")

	hb = beat(rot.Version) // acknowledged: the next look (a heartbeat's) applies the next step
	assert.Empty(t, hb.GossipKeys)
	keys, version := c.keyring.Current()
	select {
	case <-changed:
	default:
		t.Error("home's own gossip node is not told of the step")
	}
	require.Equal(t, rot.Version+1, version, "the new key is primary once the agent holds it")
	require.Len(t, keys, 2)
	hb = beat(rot.Version)
	assert.Equal(t, keys, hb.GossipKeys)
	hb = beat(rot.Version + 1)
	assert.Empty(t, hb.GossipKeys)
	_, version = c.keyring.Current()
	assert.Equal(t, rot.Version+1, version, "the old key is kept for the rest of the grace, counted from when the step was applied")
	clock.Add(rot.DropOldAt.Sub(rot.PrimaryAt))
	hb = beat(rot.Version + 1)
	assert.Equal(t, rot.Version+2, hb.GossipKeysVersion, "then dropped")
	assert.Equal(t, keys[:1], hb.GossipKeys)
}

// The wait is bounded: an agent that keeps naming an old version (stuck,
// or lying) holds a step for at most the grace past its time, so no
// instance can keep a retired key in use for good; it keeps being handed
// the keyring meanwhile.
func TestGossipKeyRotationGoesOnPastAnAgentSilentForAWholeGrace(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	c, cl := startKeyringHome(t, clock)
	ctx := context.Background()
	reg, err := cl.Register(ctx, "news-1", &registry.Registration{Service: "news", Address: "10.0.0.1", Port: 80})
	require.NoError(t, err)
	cl.SetCredential(reg.Credential)
	rot, err := c.keyring.Rotate()
	require.NoError(t, err)
	clock.Add(rot.PrimaryAt.Sub(clock.Now()) + c.keyring.grace - time.Second)
	_, version := c.keyring.Current()
	assert.Equal(t, rot.Version, version, "held within the grace")
	clock.Add(time.Second)
	hb, err := cl.Heartbeat(ctx, "news-1", &registry.Heartbeat{Status: registry.StatusPassing, GossipKeysVersion: 1})
	require.NoError(t, err)
	assert.Equal(t, rot.Version+1, hb.GossipKeysVersion, "the grace past its time is over: the step applies")
}

// An agent that names no version (one that predates the field) holds no
// rotation, and hears each step once, as before.
func TestGossipKeyRotationDoesNotWaitForAnOlderAgent(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	c, cl := startKeyringHome(t, clock)
	ctx := context.Background()
	reg, err := cl.Register(ctx, "news-1", &registry.Registration{Service: "news", Address: "10.0.0.1", Port: 80})
	require.NoError(t, err)
	cl.SetCredential(reg.Credential)
	// No GossipKeysVersion: the heartbeat an older agent sends.
	hb, err := cl.Heartbeat(ctx, "news-1", &registry.Heartbeat{Status: registry.StatusPassing})
	require.NoError(t, err)
	assert.Empty(t, hb.GossipKeys)
	rot, err := c.keyring.Rotate()
	require.NoError(t, err)
	hb, err = cl.Heartbeat(ctx, "news-1", &registry.Heartbeat{Status: registry.StatusPassing})
	require.NoError(t, err)
	assert.Len(t, hb.GossipKeys, 2, "the older agent hears the step")
	clock.Add(rot.PrimaryAt.Sub(clock.Now()))
	_, version := c.keyring.Current()
	assert.Equal(t, rot.Version+1, version, "and the rotation goes on on time")
}

// An instance whose join token was revoked can never acknowledge a step
// (its heartbeats are refused), and is kept only to be shown critical
// until deregister-critical-after: the rotation that usually follows a
// leaked token retires the old key on time, without waiting for it.
func TestGossipKeyRotationDoesNotWaitForAnInstanceWhoseTokenWasRevoked(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	c, _ := startKeyringHome(t, clock)
	ctx := context.Background()
	jt, err := c.instances.CreateJoinToken(registry.JoinTokenSpec{}, pki.Pin{})
	require.NoError(t, err)
	leaked, err := client.New(client.Config{Address: "http://" + c.Addr(), Token: jt.Token})
	require.NoError(t, err)
	reg, err := leaked.Register(ctx, "news-1", &registry.Registration{Service: "news", Address: "10.0.0.1", Port: 80})
	require.NoError(t, err)
	leaked.SetCredential(reg.Credential)
	_, err = leaked.Heartbeat(ctx, "news-1", &registry.Heartbeat{Status: registry.StatusPassing, GossipKeysVersion: reg.GossipKeysVersion})
	require.NoError(t, err)
	n, err := c.instances.RevokeJoinToken(jt.ID)
	require.NoError(t, err)
	require.Equal(t, 1, n)

	rot, err := c.keyring.Rotate()
	require.NoError(t, err)
	clock.Add(rot.PrimaryAt.Sub(clock.Now()))
	_, version := c.keyring.Current()
	assert.Equal(t, rot.Version+1, version, "the new key is primary on time: the revoked instance is not waited for")
}

// An instance silent past its TTL cannot acknowledge either: the rotation
// goes on on time (were it waited for, each step would wait its whole
// grace, as its removal comes later still), and the instance, should it
// come back, is handed the keyring at once and counted again.
func TestGossipKeyRotationDoesNotWaitForAnInstanceSilentPastItsTTL(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	c, cl := startKeyringHome(t, clock)
	ctx := context.Background()
	reg, err := cl.Register(ctx, "news-1", &registry.Registration{Service: "news", Address: "10.0.0.1", Port: 80,
		TTL: registry.Duration(registry.MinTTL)})
	require.NoError(t, err)
	cl.SetCredential(reg.Credential)
	_, err = cl.Heartbeat(ctx, "news-1", &registry.Heartbeat{Status: registry.StatusPassing, GossipKeysVersion: reg.GossipKeysVersion})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return c.instances.Stats().Expirations == 1 }, 10*time.Second, 20*time.Millisecond,
		"the instance's TTL runs out")

	rot, err := c.keyring.Rotate()
	require.NoError(t, err)
	clock.Add(rot.PrimaryAt.Sub(clock.Now()))
	_, version := c.keyring.Current()
	assert.Equal(t, rot.Version+1, version, "the new key is primary on time: the silent instance is not waited for")

	hb, err := cl.Heartbeat(ctx, "news-1", &registry.Heartbeat{Status: registry.StatusPassing, GossipKeysVersion: reg.GossipKeysVersion})
	require.NoError(t, err)
	assert.Equal(t, rot.Version+1, hb.GossipKeysVersion, "back: it gets the keyring at once")
	assert.Equal(t, 1, c.instances.GossipKeysBehind(rot.Version+1), "and is waited for again")
}
