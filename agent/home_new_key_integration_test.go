package agent_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// Home's data dir is lost and home is started again on a new one at the
// same address (its CA the operator's own, or loopback): a new signing key
// and revisions from 1 again, below the one the agent holds. The agent's
// own rule (learnSigningKey: "A key other than the one kept means another
// home (or a new data dir): the agent then takes that home's views whatever
// their revision") must hold on the path views come by, the blocking watch:
// a watch that asks "newer than the revision I hold" is answered nothing by
// the new home (registry/client's Composition: "nil ... when the answer's
// revision is not above index"), so the agent would serve the lost home's
// composition until the new one passed it. Consul's blocking-query contract
// says the same of an index that went back: the reader resets it (Consul
// docs, "Blocking Queries": "if the index goes backwards ... reset the index
// to 0").
func TestAgentTakesANewHomesCompositionBelowItsRevision(t *testing.T) {
	co := testenv.StartCoordinator(t)
	svc := co.Create(t, "/admin/api/services.json", "name=news")
	for _, m := range []string{"one", "two", "three", "four"} {
		co.Create(t, "/admin/api/services/"+svc+"/metrics.json", "friendly_name="+m+"&unit=hit")
	}
	a := testenv.StartAgent(t, co, "--service", "news", "--heartbeat", "300ms", "--ttl", "2s", "--", "sleep", "300")
	a.ID()
	held := co.Revision(t)
	require.Eventually(t, func() bool { rev, _ := agentComposition(t, a); return rev == held }, 10*time.Second, 20*time.Millisecond)
	oldKey, err := os.ReadFile(filepath.Join(a.CacheDir, "signing-key.pub"))
	require.NoError(t, err)

	// The data dir is lost; a new home starts on an empty one.
	co.Stop()
	entries, err := os.ReadDir(co.DataDir)
	require.NoError(t, err)
	for _, e := range entries {
		require.NoError(t, os.RemoveAll(filepath.Join(co.DataDir, e.Name())))
	}
	co.Start()
	co.Create(t, "/admin/api/services.json", "name=news")
	require.Less(t, co.Revision(t), held, "the new home publishes below the agent's revision")

	require.Eventually(t, func() bool {
		k, err := os.ReadFile(filepath.Join(a.CacheDir, "signing-key.pub"))
		return err == nil && string(k) != string(oldKey)
	}, 15*time.Second, 50*time.Millisecond, "the agent learns the new home's key:\n%s", a.Output.String())
	require.Eventually(t, func() bool {
		rev, _ := agentComposition(t, a)
		return rev == co.Revision(t) && !strings.Contains(agentDocument(t, a), `"four"`)
	}, 45*time.Second, 100*time.Millisecond, "the agent takes the new home's composition:\n%s", a.Output.String())
}
