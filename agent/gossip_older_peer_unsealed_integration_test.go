package agent_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/agent"
	"github.com/portolan/portolan/gossip"
	"github.com/portolan/portolan/internal/testenv"
)

// fixedView is the Source of an agent older than view keys: the signed view
// it holds, exactly as home sent it.
type fixedView struct {
	rev  uint64
	view []byte
}

func (f fixedView) Latest() (uint64, []byte) { return f.rev, f.view }

// startOlderAgent starts a gossip node as an agent built before view keys
// runs it: no Envelope, so its documents (gzip) and deltas travel as they
// are, as gossip's seal does without one (gossip/envelope.go). It holds the
// signed view in cacheDir's agent.CacheFile, of service, and joins join.
func startOlderAgent(t *testing.T, name, service string, keys [][]byte, rev uint64, cacheDir, join string) *gossip.Node {
	t.Helper()
	view, err := os.ReadFile(filepath.Join(cacheDir, agent.CacheFile))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	cfg := gossip.Config{
		Name: name, Bind: "127.0.0.1:0", Keys: keys, Cluster: "portolan", Logger: zerolog.Nop(),
		Meta:   gossip.Meta{Role: gossip.RoleAgent, Service: service, InstanceID: name, Revision: rev},
		Source: fixedView{rev: rev, view: view},
		// It takes nothing from its peers: an older agent checks a view's
		// audience too, and this one must keep serving its own.
		Accept: func(uint64, []byte) error { return errors.New("takes nothing") },
	}
	if join != "" {
		cfg.Join = []string{join}
	}
	n, err := gossip.Start(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = n.Shutdown() })
	return n
}

// A fleet mid-upgrade with home away: an agent that knows its service's
// view key takes the newer view an agent older than view keys offers,
// unsealed (its sender gave up the view's confidentiality already, and
// acceptFromPeer still checks home's signature and the view's audience),
// and says once, at warn, that a peer predates view keys. An older agent
// of another service offering a newer view unsealed is still refused: the
// view's audience is not the agent's service.
//
// Oracle: memberlist's own rolling upgrade of encryption (hashicorp/memberlist
// config.go, GossipVerifyIncoming: "It is used for upshifting from
// unencrypted to encrypted gossip on a running cluster"): a node that
// learned the new scheme keeps taking what peers not yet upgraded send.
func TestGossipAgentTakesUnsealedViewFromAnAgentOlderThanViewKeys(t *testing.T) {
	co := testenv.StartCoordinator(t)
	createService(t, co, "news")
	createService(t, co, "weather")
	newsRev := co.Revision(t)
	a := testenv.StartAgent(t, co, "--service", "news", "--", "sleep", "60")
	require.Eventually(t, func() bool { rev, _ := agentComposition(t, a); return rev == newsRev }, 10*time.Second, 20*time.Millisecond)
	// news's view at newsRev, as an older agent of news holds it; a's own
	// moves on with the next change.
	oldNewsDir := t.TempDir()
	b, err := os.ReadFile(filepath.Join(a.CacheDir, agent.CacheFile))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(oldNewsDir, agent.CacheFile), b, 0o600))
	createService(t, co, "extra")
	weatherRev := co.Revision(t)
	require.Greater(t, weatherRev, newsRev)
	w := testenv.StartAgent(t, co, "--service", "weather", "--", "sleep", "60")
	require.Eventually(t, func() bool { rev, _ := agentComposition(t, w); return rev == weatherRev }, 10*time.Second, 20*time.Millisecond)

	// The new agent of news: home's signing key and news's view key cached
	// by an earlier registration, no view yet.
	cacheDir := cacheCopy(t, a.CacheDir, agent.SigningKeyCacheFile, agent.ViewKeyFile)
	keys := homeKeyring(t, co)
	keyFile := filepath.Join(t.TempDir(), "gossip.key")
	require.NoError(t, os.WriteFile(keyFile, []byte(gossip.EncodeKey(keys[0])+"\n"), 0o600))
	co.Stop()

	oldNews := startOlderAgent(t, "old-news", "news", keys, newsRev, oldNewsDir, "")
	startOlderAgent(t, "old-weather", "weather", keys, weatherRev, w.CacheDir, oldNews.Addr())
	nb := testenv.StartAgent(t, co, "--gossip-bind", "127.0.0.1:0", "--join", oldNews.Addr(), "--gossip-key-file", keyFile,
		"--service", "news", "--cache-dir", cacheDir, "--", "sleep", "60")
	require.Eventually(t, func() bool { rev, _ := agentComposition(t, nb); return rev == newsRev }, 10*time.Second, 50*time.Millisecond,
		"the agent takes news's view from a peer older than view keys; log:\n%s", nb.Output.String())
	time.Sleep(time.Second)
	rev, _ := agentComposition(t, nb)
	assert.Equal(t, newsRev, rev, "weather's newer view, offered unsealed too, is refused")
	out := nb.Output.String()
	assert.Equal(t, 1, strings.Count(out, "predates view keys"), "said once, at warn, that a peer is older than view keys; log:\n%s", out)
}
