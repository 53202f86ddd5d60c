package agent_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// agentDocument reads the agent's composition (GET /v1/agent/composition)
// as raw JSON, "" when it serves none.
func agentDocument(t *testing.T, a *testenv.Agent) string {
	resp, err := http.Get("http://" + a.API + "/v1/agent/composition")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

// copyDir copies src's content into dst as `cp -a` does (modes kept: the
// coordinator wants its data dir private).
func copyDir(t *testing.T, src, dst string) {
	out, err := exec.Command("cp", "-a", src+"/.", dst).CombinedOutput()
	require.NoError(t, err, "cp -a %s %s: %s", src, dst, out)
}

// Home comes back from a backup of its whole data dir, composition.floor
// included (a VM snapshot, a volume restore): it publishes revisions below
// the one agents hold. DESIGN.md ("agents never move back to an older
// revision") keeps every agent on what it holds, so none of home's changes
// (a suspended application, a lowered limit) reach it until home passes
// that revision: the agent must say so, with home's revision and its own
// and the way out, not stay silent while every write at home goes nowhere.
// The way out the log gives is the floor's own purpose (storefloor's doc:
// "a store restored from a backup ... resumes above them"): raising
// composition.floor to the agents' revision; the test follows it and sees
// the agent take home's composition. Consul's blocking queries document the
// same hazard from the reader's side (Consul docs, "Blocking Queries":
// "if the index goes backwards ... clients should reset their index"),
// which a signed, never-back view cannot do silently.
func TestHomeRestoredToAnOlderRevisionIsReported(t *testing.T) {
	co := testenv.StartCoordinator(t)
	svc := co.Create(t, "/admin/api/services.json", "name=news")
	a := testenv.StartAgent(t, co, "--service", "news", "--heartbeat", "300ms", "--ttl", "2s", "--", "sleep", "300")
	a.ID()
	require.Eventually(t, func() bool { rev, _ := agentComposition(t, a); return rev == co.Revision(t) }, 10*time.Second, 20*time.Millisecond)

	// The backup: the whole data dir, floor and signing key included.
	co.Stop()
	backup := t.TempDir()
	copyDir(t, co.DataDir, backup)
	co.Start()

	// Home goes on; the agent follows it.
	for _, m := range []string{"one", "two", "three"} {
		co.Create(t, "/admin/api/services/"+svc+"/metrics.json", "friendly_name="+m+"&unit=hit")
	}
	held := co.Revision(t)
	require.Eventually(t, func() bool { rev, _ := agentComposition(t, a); return rev == held }, 10*time.Second, 20*time.Millisecond)

	// The restore, then a change an operator expects to reach the agents.
	co.Stop()
	entries, err := os.ReadDir(co.DataDir)
	require.NoError(t, err)
	for _, e := range entries {
		require.NoError(t, os.RemoveAll(filepath.Join(co.DataDir, e.Name())))
	}
	copyDir(t, backup, co.DataDir)
	co.Start()
	co.Create(t, "/admin/api/services/"+svc+"/metrics.json", "friendly_name=restored_only&unit=hit")
	home := co.Revision(t)
	require.Less(t, home, held, "the restored home publishes below the agent's revision")

	// The agent keeps its revision (never back) and says why home's
	// changes do not reach it, naming both revisions and the floor.
	require.Eventually(t, func() bool {
		out := a.Output.String()
		return strings.Contains(out, "older than the revision this agent holds") && strings.Contains(out, "composition.floor")
	}, 45*time.Second, 100*time.Millisecond, "the agent tells the operator home went back:\n%s", a.Output.String())
	rev, _ := agentComposition(t, a)
	require.Equal(t, held, rev, "the agent never moves back")

	// The way out the log names: home's floor raised to the agent's
	// revision; home resumes above it and the agent takes its composition.
	co.Stop()
	floorPath := filepath.Join(co.DataDir, "composition.floor")
	b, err := os.ReadFile(floorPath)
	require.NoError(t, err)
	var floor map[string]any
	require.NoError(t, json.Unmarshal(b, &floor))
	floor["revision"] = held
	b, err = json.Marshal(floor)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(floorPath, b, 0o600))
	co.Start()
	require.Greater(t, co.Revision(t), held)
	require.Eventually(t, func() bool { return strings.Contains(agentDocument(t, a), "restored_only") }, 45*time.Second, 100*time.Millisecond,
		"the agent takes home's composition once home resumes above it:\n%s", a.Output.String())
}
