package manifest_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/manifest"
)

// manyApplications is a service and one account with n applications on
// it, and a user each.
func manyApplications(n int) string {
	var b strings.Builder
	b.WriteString("apiVersion: portolan.dev/v1\nkind: Service\nsystem_name: big\nname: Big\nplans:\n- {system_name: basic, name: Basic}\n" +
		"---\napiVersion: portolan.dev/v1\nkind: Account\norg_name: Org\nusers:\n")
	for i := range n {
		fmt.Fprintf(&b, "- {username: u%d, email: u%d@x.example}\n", i, i)
	}
	b.WriteString("applications:\n")
	for i := range n {
		fmt.Fprintf(&b, "- {name: A%d, service: big, plan: basic}\n", i)
	}
	return b.String()
}

// Applying documents a second time is the common case (an apply in CI, an
// image's documents at each start), and Desired runs under the store's
// writer: over a base holding what the documents declare, it must cost
// about what it costs over none, not a scan of base per user and per
// application (20,000 applications, under a MiB of YAML, took 9 s over
// their own base against 50 ms over none).
func TestDesiredOverItsOwnBaseCostsAboutAsMuchAsFresh(t *testing.T) {
	docs, err := manifest.Decode(strings.NewReader(manyApplications(8000)), "many.yaml")
	require.NoError(t, err)
	best := func(base bool) time.Duration {
		fastest := time.Duration(1<<63 - 1)
		for range 3 {
			var start time.Time
			if base {
				home, err := manifest.Desired(docs, nil)
				require.NoError(t, err)
				start = time.Now()
				_, err = manifest.Desired(docs, home)
				require.NoError(t, err)
			} else {
				start = time.Now()
				_, err := manifest.Desired(docs, nil)
				require.NoError(t, err)
			}
			fastest = min(fastest, time.Since(start))
		}
		return fastest
	}
	fresh, again := best(false), best(true)
	assert.Less(t, again, 5*fresh+100*time.Millisecond, "over its own base %v, over none %v", again, fresh)
}

// An export of n accounts, each with its user and application, costs about
// n: it grouped nothing, and scanned every user and application once per
// account (10,000 accounts took 6 s).
func TestExportCostGrowsWithTheCompositionNotItsSquare(t *testing.T) {
	cost := func(n int) time.Duration {
		docs, err := manifest.Decode(strings.NewReader(accountsDocument(n)), "accounts.yaml")
		require.NoError(t, err)
		c, err := manifest.Desired(docs, nil)
		require.NoError(t, err)
		fastest := time.Duration(1<<63 - 1)
		for range 3 {
			start := time.Now()
			manifest.Export(c, manifest.ExportOptions{IncludeSecrets: true})
			fastest = min(fastest, time.Since(start))
		}
		return fastest
	}
	small, large := cost(1500), cost(12000) // 8 times the entities
	assert.Less(t, large, 24*small+100*time.Millisecond, "8 times the accounts: %v, against %v", large, small)
}
