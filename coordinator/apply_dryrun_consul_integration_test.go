package coordinator

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/testenv"
)

// On Consul, an entity whose transaction alone would exceed Consul's
// txn_max_req_len is refused at the commit. A dry run, which `portolan
// diff` sends for a pull request, answers what the apply would: the same
// refusal, not a plan the merge then fails to write. A revision that is
// merely large (more than 63 entities, or over the limit in all) is
// committed staged, and planned as such.
func TestDryRunOnConsulRefusesWhatTheCommitWould(t *testing.T) {
	consul := testenv.StartConsul(t)
	c, err := New(Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), AccessToken: fixtureToken,
		Consul: &ConsulConfig{Address: consul.URL, Prefix: "dry-run-size/", MaxTxnBytes: 64 << 10}})
	require.NoError(t, err)
	t.Cleanup(func() { c.ln.Close(); c.usage.Close(); c.store.Close() })
	_, ok := c.store.(commitChecker)
	require.True(t, ok, "the Consul store tells a dry run what its commit would refuse (consulstore.Store.CheckCommit)")

	long := strings.Repeat("x", 60<<10) // within 3scale's 64 KiB for a text: 80 KiB in base64
	metrics := func(n int) string {
		var b strings.Builder
		b.WriteString("apiVersion: portolan.dev/v1\nkind: Service\nsystem_name: news\nname: News\nmetrics:\n")
		for i := range n {
			fmt.Fprintf(&b, "- {system_name: m%d, friendly_name: M%d, unit: hit, description: %s}\n", i, i, long)
		}
		return b.String()
	}
	rev := c.store.Snapshot().Revision

	code, body := postApply(t, c, "", metrics(1))
	require.Equal(t, http.StatusUnprocessableEntity, code, "the commit refuses it: %.300s", body)
	assert.Contains(t, body, "txn_max_req_len")
	assert.Contains(t, body, "64 KiB")
	dryCode, dryBody := postApply(t, c, "dry_run=true", metrics(1))
	assert.Equal(t, code, dryCode, "the dry run answers as the apply: %.300s", dryBody)
	assert.JSONEq(t, body, dryBody)
	assert.Equal(t, rev, c.store.Snapshot().Revision, "nothing written")

	// Within the limit, the dry run still plans and writes nothing.
	small := "apiVersion: portolan.dev/v1\nkind: Service\nsystem_name: news\nname: News\n"
	code, body = postApply(t, c, "dry_run=true", small)
	require.Equal(t, http.StatusOK, code, body)
	assert.Contains(t, body, `"applied":false`)
	assert.Equal(t, rev, c.store.Snapshot().Revision)
}

// On Consul at its default limits, a document larger than one transaction
// (ten 60 KiB descriptions, 800 KiB in base64; with plans and limits, more
// than 63 entities) is applied as one revision.
func TestLargeApplyOnConsulIsOneRevision(t *testing.T) {
	consul := testenv.StartConsul(t)
	c, err := New(Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), AccessToken: fixtureToken,
		Consul: &ConsulConfig{Address: consul.URL, Prefix: "large-apply/"}})
	require.NoError(t, err)
	t.Cleanup(func() { c.ln.Close(); c.usage.Close(); c.store.Close() })

	var b strings.Builder
	b.WriteString("apiVersion: portolan.dev/v1\nkind: Service\nsystem_name: news\nname: News\nmetrics:\n")
	long := strings.Repeat("x", 60<<10)
	for i := range 10 {
		fmt.Fprintf(&b, "- {system_name: m%d, friendly_name: M%d, unit: hit, description: %s}\n", i, i, long)
	}
	for i := range 80 {
		fmt.Fprintf(&b, "- {system_name: s%d, friendly_name: S%d, unit: hit}\n", i, i)
	}
	rev := c.store.Snapshot().Revision
	code, body := postApply(t, c, "dry_run=true", b.String())
	require.Equal(t, http.StatusOK, code, "%.300s", body)
	code, body = postApply(t, c, "", b.String())
	require.Equal(t, http.StatusOK, code, "%.300s", body)
	assert.Contains(t, body, `"applied":true`)
	snap := c.store.Snapshot()
	assert.Equal(t, rev+1, snap.Revision)
	svc, ok := snap.ServiceBySystemName("news")
	require.True(t, ok)
	assert.Len(t, snap.MetricsOf(composition.OwnerService, svc.ID), 1+10+80)
}
