//go:build upgrade

// Run with PORTOLAN_OLD_AGENT_BIN=/path/to/an/older/portolan-agent
// go test -tags upgrade ./agent/ -run Upgrade (besides PORTOLAN_BIN and
// PORTOLAN_AGENT_BIN, the current builds).

package agent_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/agent"
	"github.com/portolan/portolan/internal/testenv"
)

// oldAgentBinary is the older agent build, PORTOLAN_OLD_AGENT_BIN.
func oldAgentBinary(t *testing.T) string {
	return testenv.OldBuild(t, "PORTOLAN_OLD_AGENT_BIN", "an older agent build of portolan (one that predates view keys, e.g. of 2026-12-05)")
}

// cachedRevision waits until cacheDir, a's, holds revision rev.
func cachedRevision(t *testing.T, a *testenv.Agent, cacheDir string, rev uint64, within time.Duration, msg string) {
	t.Helper()
	want := []byte(`"revision":` + strconv.FormatUint(rev, 10))
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(filepath.Join(cacheDir, agent.CacheFile))
		return err == nil && bytes.Contains(b, want)
	}, within, 50*time.Millisecond, "%s (revision %d); it said:\n%s", msg, rev, a.Output.String())
}

// Agents are upgraded one container at a time, so a gossip cluster holds
// older and newer agents for weeks, and gossip is what carries a revision
// from agent to agent while home is away (DESIGN.md, "Each step works on
// its own when the step before it is unreachable"). An older agent gossips
// its signed view as it is; the current one seals its own under its
// service's view key and refused the older peer's as "not sealed under
// this node's key", at debug level: the newer agent stayed on its older
// revision without a word. A signed view of the node's own service is
// what it takes from any peer (the signature and audience are checked
// whatever the envelope), so the older peer's must be taken, or the
// refusal said once, clearly, at a level an operator sees.
func TestUpgradeNewerAgentTakesAnOlderPeersViewWhileHomeIsAway(t *testing.T) {
	old := oldAgentBinary(t)
	co := testenv.StartCoordinator(t)
	countedService(t, co, "News", "news")
	gA, gB := testenv.FreeAddr(t), testenv.FreeAddr(t)
	common := []string{"--service", "news", "--address", "127.0.0.1", "--port", "1", "--heartbeat", "300ms"}

	older := testenv.StartAgentOf(t, old, co.URL, append(common, "--gossip-bind", gA, "--", "sleep", "120")...)
	newer := testenv.StartAgent(t, co, append(common, "--gossip-bind", gB, "--join", gA, "--", "sleep", "120")...)
	rev := co.Revision(t)
	cachedRevision(t, older, older.CacheDir, rev, 10*time.Second, "the older agent takes home's revision")
	cachedRevision(t, newer, newer.CacheDir, rev, 10*time.Second, "the newer agent takes home's revision")

	// The newer agent's container restarts (an image rebuilt) while home
	// publishes a revision and then goes away: only its older peer has it.
	newer.Signal(syscall.SIGTERM)
	_, ok := newer.Wait(10 * time.Second)
	require.True(t, ok, "the newer agent stops")
	countedService(t, co, "Other", "other")
	next := co.Revision(t)
	cachedRevision(t, older, older.CacheDir, next, 10*time.Second, "the older agent takes home's next revision")
	co.Stop()

	again := testenv.StartAgent(t, co, append(common, "--cache-dir", newer.CacheDir, "--gossip-bind", gB, "--join", gA, "--", "sleep", "120")...)
	cachedRevision(t, again, newer.CacheDir, next, 20*time.Second, "the newer agent, home away, takes its older peer's newer revision by gossip")
}
