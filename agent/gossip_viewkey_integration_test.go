package agent_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/agent"
	"github.com/portolan/portolan/gossip"
	"github.com/portolan/portolan/internal/testenv"
)

// eavesdropper is a gossip node holding the cluster keyring, as an agent of
// another service does (or whoever stole its keyring), that keeps every
// document it manages to fetch.
type eavesdropper struct {
	*gossip.Node
	mu   sync.Mutex
	docs [][]byte
}

func (e *eavesdropper) fetched() [][]byte {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([][]byte(nil), e.docs...)
}

func startEavesdropper(t *testing.T, name string, keys [][]byte, meta gossip.Meta, join string) *eavesdropper {
	t.Helper()
	e := &eavesdropper{}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	n, err := gossip.Start(ctx, gossip.Config{
		Name: name, Bind: "127.0.0.1:0", Join: []string{join}, Keys: keys, Cluster: "portolan", Meta: meta, Logger: zerolog.Nop(),
		OnComposition: func(_ uint64, doc []byte) {
			e.mu.Lock()
			e.docs = append(e.docs, bytes.Clone(doc))
			e.mu.Unlock()
		},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = n.Shutdown() })
	e.Node = n
	return e
}

// DESIGN's trust model: "What agents receive: only the services they are
// placed in". A service's view holds its proxy's secret token (APIcast's
// "secret_token": "Shared secret sent from the gateway to the upstream
// API", sent as X-3scale-proxy-secret-token) and is shared between that
// service's agents by gossip, whose keyring every agent holds. An agent of
// another service, holding the keyring and claiming the first service in
// its gossip metadata, fetches only sealed bytes and never reads the
// secret; the service's own agents still share the view by gossip with home
// gone, given the view key home handed at an earlier registration.
func TestGossipViewOfAServiceStaysWithinIt(t *testing.T) {
	gossipAddr := testenv.FreeAddr(t)
	co := testenv.StartCoordinator(t, "--gossip-bind", gossipAddr)
	var svc struct {
		Service struct{ ID int64 } `json:"service"`
	}
	adminCall(t, co, "POST", "/admin/api/services.json", "name=News&system_name=news", &svc)
	const secret = "news-proxy-secret-9b41e7"
	adminCall(t, co, "PATCH", fmt.Sprintf("/admin/api/services/%d/proxy.json", svc.Service.ID), "secret_token="+secret, nil)
	createService(t, co, "weather")
	want := co.Revision(t)

	args := []string{"--gossip-bind", "127.0.0.1:0", "--join", gossipAddr, "--heartbeat", "300ms", "--ttl", "1s"}
	a := testenv.StartAgent(t, co, append(args, "--service", "news", "--", "sleep", "60")...)
	w := testenv.StartAgent(t, co, append(args, "--service", "weather", "--", "sleep", "60")...)
	peer := gossipAddrOf(t, a)
	gossipAddrOf(t, w)
	require.Eventually(t, func() bool { rev, _ := agentComposition(t, a); return rev == want }, 10*time.Second, 20*time.Millisecond)

	// weather's agent's keyring, in the hands of a node that says it serves
	// news: it hears news's revision and fetches it from news's agent.
	keys := homeKeyring(t, co)
	spy := startEavesdropper(t, "spy", keys, gossip.Meta{Role: gossip.RoleAgent, Service: "news", InstanceID: "spy"}, peer)
	require.Eventually(t, func() bool { return len(spy.Members()) >= 3 }, 10*time.Second, 20*time.Millisecond)
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		for _, doc := range spy.fetched() {
			require.False(t, bytes.Contains(doc, []byte(secret)), "a node of another service read news's secret token from gossip")
		}
		time.Sleep(50 * time.Millisecond)
	}
	assert.Zero(t, len(spy.fetched()), "nothing it fetched opened")

	// Home gone: a new agent of news, with the signing key and view key an
	// earlier registration left in its cache dir, takes the view from a peer.
	cacheDir := cacheCopy(t, a.CacheDir, agent.SigningKeyCacheFile, agent.ViewKeyFile)
	keyFile := filepath.Join(t.TempDir(), "gossip.key")
	require.NoError(t, os.WriteFile(keyFile, []byte(gossip.EncodeKey(keys[0])+"\n"), 0o600))
	co.Stop()
	b := testenv.StartAgent(t, co, "--gossip-bind", "127.0.0.1:0", "--join", peer, "--gossip-key-file", keyFile,
		"--service", "news", "--cache-dir", cacheDir, "--", "sleep", "60")
	b.ID()
	require.Eventually(t, func() bool { rev, _ := agentComposition(t, b); return rev == want }, 10*time.Second, 50*time.Millisecond,
		"news's agents converge by gossip with home gone")
	assert.Zero(t, len(spy.fetched()))
}

// An agent phoning home holds a cached view of news and the gossip keyring
// but no view key (upgraded from an agent older than view keys, or the key
// was never cached), and home is away: it must not serve its view in clear
// to whoever holds the keyring while it waits for home to hand a key. Only
// a home that says it has none lets views travel as they are.
func TestGossipCachedViewWithoutViewKeyIsNotSentInClear(t *testing.T) {
	co := testenv.StartCoordinator(t)
	var svc struct {
		Service struct{ ID int64 } `json:"service"`
	}
	adminCall(t, co, "POST", "/admin/api/services.json", "name=News&system_name=news", &svc)
	const secret = "news-proxy-secret-4c17d2"
	adminCall(t, co, "PATCH", fmt.Sprintf("/admin/api/services/%d/proxy.json", svc.Service.ID), "secret_token="+secret, nil)
	want := co.Revision(t)
	a := testenv.StartAgent(t, co, "--service", "news", "--", "sleep", "60")
	require.Eventually(t, func() bool { rev, _ := agentComposition(t, a); return rev == want }, 10*time.Second, 20*time.Millisecond)

	// The cache dir of an older agent: signing key and view, no view key.
	cacheDir := cacheCopy(t, a.CacheDir, agent.SigningKeyCacheFile, agent.CacheFile)
	keys := homeKeyring(t, co)
	keyFile := filepath.Join(t.TempDir(), "gossip.key")
	require.NoError(t, os.WriteFile(keyFile, []byte(gossip.EncodeKey(keys[0])+"\n"), 0o600))
	co.Stop()
	b := testenv.StartAgent(t, co, "--gossip-bind", "127.0.0.1:0", "--gossip-key-file", keyFile,
		"--service", "news", "--cache-dir", cacheDir, "--", "sleep", "60")
	require.Eventually(t, func() bool { rev, _ := agentComposition(t, b); return rev == want }, 10*time.Second, 20*time.Millisecond,
		"the agent holds its cached view")

	spy := startEavesdropper(t, "spy", keys, gossip.Meta{Role: gossip.RoleAgent, Service: "news", InstanceID: "spy"}, gossipAddrOf(t, b))
	require.Eventually(t, func() bool { return len(spy.Members()) >= 2 }, 10*time.Second, 20*time.Millisecond)
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		for _, doc := range spy.fetched() {
			require.False(t, bytes.Contains(doc, []byte(secret)), "the view went out in clear before home handed a view key")
		}
		time.Sleep(50 * time.Millisecond)
	}
	assert.Zero(t, len(spy.fetched()), "the agent sent no view before it knew a key")
}

// cachedViewKey reads the view key of service an agent keeps in cacheDir
// (agent.ViewKeyFile: each key with the service it is for).
func cachedViewKey(t *testing.T, cacheDir, service string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(cacheDir, agent.ViewKeyFile))
	require.NoError(t, err)
	var f struct {
		Keys []struct{ Service, Key string }
	}
	require.NoError(t, json.Unmarshal(b, &f))
	for _, k := range f.Keys {
		if k.Service == service {
			key, err := base64.StdEncoding.DecodeString(k.Key)
			require.NoError(t, err)
			return key
		}
	}
	require.Failf(t, "no cached view key", "for service %q in %s", service, b)
	return nil
}
