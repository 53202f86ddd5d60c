package agent_test

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/agent"
	"github.com/portolan/portolan/internal/testenv"
)

// An agent that cannot cache a peer's view (its disk full) still puts it
// in force, home down (a full disk must not hold back a suspended
// application or a lowered limit), and caches it once the cache dir can
// take it again.
func TestGossipViewNotCachedIsInForceAndCachedOnceItCanBe(t *testing.T) {
	gossipAddr := testenv.FreeAddr(t)
	key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{42}, 32))
	keyFile := filepath.Join(t.TempDir(), "gossip.key")
	require.NoError(t, os.WriteFile(keyFile, []byte(key+"\n"), 0o600))
	co := testenv.StartCoordinator(t, "--gossip-bind", gossipAddr, "--gossip-key", key)
	createService(t, co, "news")
	want := co.Revision(t)
	a := testenv.StartAgent(t, co, "--gossip-bind", "127.0.0.1:0", "--join", gossipAddr, "--service", "news", "--heartbeat", "300ms", "--ttl", "1s", "--", "sleep", "60")
	var peer string
	require.Eventually(t, func() bool {
		rev, _ := agentComposition(t, a)
		self, ok := a.Self()
		peer, _ = self["gossip"].(string)
		_, err := os.Stat(filepath.Join(a.CacheDir, agent.ViewKeyFile))
		return ok && peer != "" && rev == want && err == nil
	}, 10*time.Second, 50*time.Millisecond)
	co.Stop()

	// A new agent, home down, with home's signing key and the view key
	// cached, whose cache cannot take the view.
	dir := cacheCopy(t, a.CacheDir, agent.SigningKeyCacheFile, agent.ViewKeyFile)
	blocker := filepath.Join(dir, agent.CacheFile)
	require.NoError(t, os.MkdirAll(filepath.Join(blocker, "x"), 0o700))
	c := testenv.StartAgent(t, co, "--gossip-bind", "127.0.0.1:0", "--join", peer, "--gossip-key-file", keyFile, "--service", "news", "--cache-dir", dir, "--", "sleep", "60")
	require.Eventually(t, func() bool { rev, _ := agentComposition(t, c); return rev == want }, 10*time.Second, 50*time.Millisecond,
		"the peer's view should be in force though the cache dir cannot take it")
	require.True(t, c.Output.Contains(t, "composition in force but not cached", "cache composition"), "the agent says the view is not cached, and why")

	require.NoError(t, os.RemoveAll(blocker)) // room again
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(blocker)
		return err == nil && bytes.Contains(b, []byte(`"revision"`))
	}, 15*time.Second, 100*time.Millisecond, "the view in force should be cached once the cache dir can take it")
	require.Eventually(t, func() bool { return strings.Contains(c.Output.String(), "composition cached") }, 5*time.Second, 50*time.Millisecond)
}
