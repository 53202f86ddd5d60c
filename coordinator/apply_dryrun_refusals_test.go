package coordinator

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/threescale"
)

// README: "In CI, `portolan diff` on a pull request shows the plan ... and
// `portolan apply` on merge writes it." A dry run is held to everything the
// apply is held to, so documents the apply would refuse are refused by the
// dry run, with the same answer, and nothing is written either way.
func TestDryRunRefusesWhatApplyRefuses(t *testing.T) {
	service := "apiVersion: portolan.dev/v1\nkind: Service\nsystem_name: news\nname: News\n" +
		"plans: [{system_name: gold, name: Gold}, {system_name: basic, name: Basic}]\n"
	overCap := service
	for i := range 3 {
		overCap += fmt.Sprintf("---\napiVersion: portolan.dev/v1\nkind: Placement\nname: p%d\nselector: {service: news}\nservice: news\n", i)
	}
	for name, tc := range map[string]struct{ setup, query, docs string }{
		"over --max-placements": {query: "", docs: overCap},
		// "a plan that still has applications is not deleted (the apply
		// is refused, naming it, as 3scale refuses the delete)"
		"a pruned plan with applications": {
			setup: service + "---\napiVersion: portolan.dev/v1\nkind: Account\norg_name: ACME\napplications: [{name: app, service: news, plan: basic}]\n",
			query: "prune=true",
			docs:  "apiVersion: portolan.dev/v1\nkind: Service\nsystem_name: news\nname: News\nplans: [{system_name: gold, name: Gold}]\n",
		},
	} {
		t.Run(name, func(t *testing.T) {
			c := newApplyCoordinator(t, threescale.Caps{Placements: 1})
			if tc.setup != "" {
				code, body := postApply(t, c, "", tc.setup)
				require.Equal(t, http.StatusOK, code, body)
			}
			rev := c.store.Snapshot().Revision
			q := "dry_run=true"
			if tc.query != "" {
				q = tc.query + "&" + q
			}
			dryCode, dryBody := postApply(t, c, q, tc.docs)
			require.Equal(t, rev, c.store.Snapshot().Revision, "a dry run writes nothing")
			code, body := postApply(t, c, tc.query, tc.docs)
			require.Equal(t, http.StatusUnprocessableEntity, code, body)
			require.Equal(t, code, dryCode, "the dry run answers as the apply: %s", dryBody)
			require.JSONEq(t, body, dryBody)
			require.Equal(t, rev, c.store.Snapshot().Revision, "a refused apply writes nothing")
		})
	}
}

// A dry run's plan is the apply's, and its revision home's current one.
func TestDryRunPlanIsTheApplysPlan(t *testing.T) {
	c := newApplyCoordinator(t, threescale.Caps{})
	docs := "apiVersion: portolan.dev/v1\nkind: Service\nsystem_name: news\nname: News\nplans: [{system_name: gold, name: Gold}]\n"
	code, dry := postApply(t, c, "dry_run=true", docs)
	require.Equal(t, http.StatusOK, code, dry)
	require.Contains(t, dry, `"applied":false`)
	require.Contains(t, dry, fmt.Sprintf(`"revision":%d`, c.store.Snapshot().Revision))
	code, applied := postApply(t, c, "", docs)
	require.Equal(t, http.StatusOK, code, applied)
	require.Contains(t, applied, `"applied":true`)
	require.Equal(t, changesOf(t, dry), changesOf(t, applied))
}
