package agent

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/gossip"
)

// A new instance id goes to peers without holding the lock every reader of
// the gossip metadata takes (UpdateMeta waits for memberlist's broadcast).
func TestNewInstanceIDIsGossipedOutsideTheLock(t *testing.T) {
	start := func(name, join string) *gossip.Node {
		cfg := gossip.Config{Name: name, Bind: "127.0.0.1:0", Insecure: true, Cluster: t.Name(), Logger: zerolog.Nop(),
			Meta: gossip.Meta{Role: gossip.RoleAgent, Service: "news", InstanceID: name}}
		if join != "" {
			cfg.Join = []string{join}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		n, err := gossip.Start(ctx, cfg)
		require.NoError(t, err)
		t.Cleanup(func() { _ = n.Shutdown() })
		return n
	}
	a := start("a", "")
	b := start("b", a.Addr())
	require.Eventually(t, func() bool { return len(a.Members()) == 2 && len(b.Members()) == 2 }, 5*time.Second, 20*time.Millisecond)

	g := &agentGossip{a: &Agent{log: zerolog.Nop()}, node: a,
		meta: gossip.Meta{Role: gossip.RoleAgent, Service: "news", InstanceID: "a"}}
	var wg sync.WaitGroup
	began := time.Now()
	var renameTook time.Duration
	wg.Go(func() { g.renamed("a-2"); renameTook = time.Since(began) })
	time.Sleep(20 * time.Millisecond) // renamed is in UpdateMeta
	t0 := time.Now()
	g.mu.Lock() // what installed, and every reader of meta, takes first
	waited := time.Since(t0)
	g.mu.Unlock()
	wg.Wait()
	t.Logf("renamed's UpdateMeta took %s; a reader of the metadata waited %s for mu", renameTook, waited)
	assert.Less(t, waited, 100*time.Millisecond, "mu held across UpdateMeta (a slow call of the node)")
}
