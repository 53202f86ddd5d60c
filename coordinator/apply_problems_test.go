package coordinator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/threescale"
)

// An apply refused for what the documents build (3scale's validation, a
// reference home cannot resolve) answers every problem in its 422, one
// line each under "documents", as it does for what Decode refuses: the
// operator fixes them all in one round trip. A dry run answers the same.
func TestApplyAnswersEveryProblemOfTheDocuments(t *testing.T) {
	c := newApplyCoordinator(t, threescale.Caps{})
	docs := "apiVersion: portolan.dev/v1\nkind: Service\nsystem_name: news\nname: News\n" +
		"metrics:\n- {system_name: bytes, friendly_name: Bytes}\n- {system_name: calls, friendly_name: Calls}\n" +
		"mapping_rules:\n- {http_method: GET, pattern: /b, metric: bytes, delta: 1}\n" +
		"---\napiVersion: portolan.dev/v1\nkind: Account\norg_name: ACME\n" +
		"applications: [{name: A, service: weather, plan: basic}]\n"
	rev := c.store.Snapshot().Revision
	for _, q := range []string{"", "dry_run=true"} {
		code, body := postApply(t, c, q, docs)
		require.Equal(t, http.StatusUnprocessableEntity, code, body)
		problems := documentsProblems(t, body)
		require.Len(t, problems, 3, body)
		assert.Contains(t, problems[0], `document 1 (Service "news"): metrics[bytes].unit: can't be blank`)
		assert.Contains(t, problems[1], `document 1 (Service "news"): metrics[calls].unit: can't be blank`)
		assert.Contains(t, problems[2], `document 2 (Account "ACME"): applications[0].service: "weather" is not a service of the documents nor at home`)
	}
	require.Equal(t, rev, c.store.Snapshot().Revision, "nothing written")

	var b strings.Builder
	b.WriteString("apiVersion: portolan.dev/v1\nkind: Service\nsystem_name: geo\nname: Geo\nmetrics:\n")
	for i := range 70 {
		fmt.Fprintf(&b, "- {system_name: m%d, friendly_name: M%d}\n", i, i)
	}
	code, body := postApply(t, c, "", b.String())
	require.Equal(t, http.StatusUnprocessableEntity, code, body)
	problems := documentsProblems(t, body)
	require.Len(t, problems, 51, "50 problems listed, the rest counted: %s", body)
	assert.Equal(t, "and 20 more problems, not listed: only the first 50 are", problems[50])
}

// documentsProblems reads the "documents" lines of a 422's errors.
func documentsProblems(t *testing.T, body string) []string {
	t.Helper()
	var v struct {
		Errors map[string][]string `json:"errors"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &v), body)
	return v.Errors["documents"]
}
