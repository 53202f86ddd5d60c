package coordinator_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-msgpack/v2/codec"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/coordinator"
	"github.com/portolan/portolan/gossip"
	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/client"
)

// A dead gossip node turns critical only the instance it is (its name and registered IP), not one its metadata claims.
func TestGossipDeadNodeFailsOnlyTheInstanceItIs(t *testing.T) {
	h := startGossipHome(t, "10.0.0.1")
	ctx, keys, gossipAddr := h.ctx, h.keys, h.gossipAddr

	// Another agent (its own keyring copy) runs a node claiming news-1.
	jctx, jcancel := context.WithTimeout(ctx, 3*time.Second)
	rogue, err := gossip.Start(jctx, gossip.Config{Name: "evil", Bind: "127.0.0.1:0", Join: []string{gossipAddr}, Keys: keys,
		Meta: gossip.Meta{Role: gossip.RoleAgent, Service: "news", InstanceID: "news-1"}, Logger: zerolog.Nop()})
	jcancel()
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(rogue.Members()) == 2 }, 5*time.Second, 20*time.Millisecond)
	require.NoError(t, rogue.Shutdown()) // dies without leaving

	deadline := time.Now().Add(12 * time.Second)
	for time.Now().Before(deadline) {
		in := h.instance(t, "news-1")
		if !assert.NotContains(t, in.Status+" "+in.Output, "critical", "news-1 heartbeats fine (TTL 1m), yet another node's death turned it critical") {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// A dead message is any keyring holder's to send (memberlist takes it for a
// live node too): home fails an instance only when its node does not answer
// home's own ping.
func TestForgedDeadMessageDoesNotFailALiveInstance(t *testing.T) {
	h := startGossipHome(t, "127.0.0.1")
	ctx, keys, gossipAddr := h.ctx, h.keys, h.gossipAddr

	// The honest agent's node: named after its instance, at its registered address.
	jctx, jcancel := context.WithTimeout(ctx, 3*time.Second)
	honest, err := gossip.Start(jctx, gossip.Config{Name: "news-1", Bind: "127.0.0.1:0", Join: []string{gossipAddr}, Keys: keys,
		Meta: gossip.Meta{Role: gossip.RoleAgent, Service: "news", InstanceID: "news-1"}, Logger: zerolog.Nop()})
	jcancel()
	require.NoError(t, err)
	defer honest.Shutdown()
	require.Eventually(t, func() bool { return len(honest.Members()) == 2 }, 5*time.Second, 20*time.Millisecond)

	// Another agent holds the same keyring: it sends home a dead message about news-1.
	type dead struct {
		Incarnation uint32
		Node        string
		From        string
	}
	var msg bytes.Buffer
	msg.WriteByte(5) // memberlist's deadMsg
	require.NoError(t, codec.NewEncoder(&msg, &codec.MsgpackHandle{}).Encode(&dead{Incarnation: 1 << 20, Node: "news-1", From: "evil"}))
	block, err := aes.NewCipher(keys[0])
	require.NoError(t, err)
	gcm, err := cipher.NewGCM(block)
	require.NoError(t, err)
	nonce := make([]byte, 12)
	_, _ = rand.Read(nonce)
	pkt := gcm.Seal(append([]byte{1}, nonce...), nonce, msg.Bytes(), nil) // version 1, no label
	ua, err := net.ResolveUDPAddr("udp", gossipAddr)
	require.NoError(t, err)
	uc, err := net.DialUDP("udp", nil, ua)
	require.NoError(t, err)
	defer uc.Close()
	_, err = uc.Write(pkt)
	require.NoError(t, err)

	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		in := h.instance(t, "news-1")
		if strings.Contains(in.Status, "critical") {
			t.Fatalf("news-1 is alive and heartbeating, yet one forged packet from another keyring holder turned it %s (%s)", in.Status, in.Output)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// gossipHome is a coordinator gossiping on gossipAddr, with news-1
// registered at address and heartbeating, and the keyring home handed it.
type gossipHome struct {
	ctx        context.Context
	base       string
	gossipAddr string
	keys       [][]byte
}

func startGossipHome(t *testing.T, address string) *gossipHome {
	t.Helper()
	h := &gossipHome{gossipAddr: testenv.FreeAddr(t)}
	c, err := coordinator.New(coordinator.Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), AccessToken: usageAdminToken,
		AgentToken: usageAgentToken, Logger: zerolog.Nop(), Gossip: &gossip.Config{Bind: h.gossipAddr}})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	h.ctx, h.base = ctx, "http://"+c.Addr()

	agentCl, err := client.New(client.Config{Address: h.base, Token: usageAgentToken})
	require.NoError(t, err)
	reg, err := agentCl.Register(ctx, "news-1", &registry.Registration{Service: "news", Address: address, Port: 80,
		TTL: registry.Duration(time.Minute)})
	require.NoError(t, err)
	_, err = agentCl.Heartbeat(ctx, "news-1", &registry.Heartbeat{Status: registry.StatusPassing})
	require.NoError(t, err)
	h.keys, err = gossip.ParseKeys(reg.GossipKeys)
	require.NoError(t, err)
	return h
}

// instance is id as home's map shows it.
func (h *gossipHome) instance(t *testing.T, id string) registry.MapInstance {
	t.Helper()
	admin, err := client.New(client.Config{Address: h.base, Token: usageAdminToken})
	require.NoError(t, err)
	m, _, err := admin.Map(h.ctx, 0, 0, "")
	require.NoError(t, err)
	in, _ := testenv.FindInstance(m, id)
	return in
}
