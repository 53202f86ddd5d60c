package coordinator

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/threescale"
)

// README: with --prune "other services, account plans, accounts and
// applications are never touched". Pruning a shared backend's method would
// take, by 3scale's cascade, the limit another service's plan sets on it:
// the apply is refused naming that plan, and goes through once that
// service's documents come along.
func TestPruneNeverDeletesAnotherServicesLimits(t *testing.T) {
	c := newApplyCoordinator(t, threescale.Caps{})
	backend := func(withSearch bool) string {
		d := "apiVersion: portolan.dev/v1\nkind: Backend\nsystem_name: store\nname: Store\nprivate_endpoint: http://store:8080\nmetrics:\n- system_name: hits\n"
		if withSearch {
			d += "  methods:\n  - {system_name: search, friendly_name: Search}\n"
		}
		return d
	}
	weather := func(withLimit bool) string {
		d := "apiVersion: portolan.dev/v1\nkind: Service\nsystem_name: weather\nname: Weather\nbackend_usages: [{backend: store, path: /store}]\n" +
			"plans:\n- system_name: gold\n  name: Gold\n"
		if withLimit {
			d += "  limits:\n  - {metric: search, backend: store, period: month, value: 10}\n"
		}
		return d
	}
	code, body := postApply(t, c, "", backend(true)+"---\n"+weather(true))
	require.Equal(t, http.StatusOK, code, body)
	rev := c.store.Snapshot().Revision

	for _, q := range []string{"prune=true&dry_run=true", "prune=true"} {
		code, body = postApply(t, c, q, backend(false))
		require.Equal(t, http.StatusUnprocessableEntity, code, body)
		require.Contains(t, body, `plan \"gold\" of service \"weather\"`)
		require.Equal(t, rev, c.store.Snapshot().Revision, "nothing written")
		require.Equal(t, 1, c.store.Snapshot().UsageLimits.Len(), "weather's limit stays")
	}

	code, body = postApply(t, c, "prune=true", backend(false)+"---\n"+weather(false))
	require.Equal(t, http.StatusOK, code, body)
	require.Zero(t, c.store.Snapshot().UsageLimits.Len())
}
