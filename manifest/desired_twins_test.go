package manifest_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/manifest"
)

// An account may hold two applications of one name on one service (3scale
// does not make names unique), told apart by their order: Desired gives the
// documents' nth application of a name home's nth's credentials
// (desired_secrets.go), and a diff pairs them the same way. So an export
// applied back to the home it came from must change nothing: it moved the
// twins to each other's plans, and with --include-secrets swapped their
// keys, when the export ordered them by plan rather than as home holds them.
func TestExportAppliedBackKeepsTwinApplicationsApart(t *testing.T) {
	tx := composition.NewTx(buildComposition(t), time.Now())
	c := tx.View()
	acme, ok := c.Accounts.Find(func(a *composition.Account) bool { return a.OrgName == "ACME" })
	require.True(t, ok)
	news, ok := c.ServiceBySystemName("news_api")
	require.True(t, ok)
	plan := func(name string) int64 {
		p, ok := c.ApplicationPlans.Find(func(p *composition.ApplicationPlan) bool { return p.ServiceID == news.ID && p.SystemName == name })
		require.True(t, ok)
		return p.ID
	}
	// Home's order (ids) is gold's then basic's: the plans' names sort the
	// other way.
	onGold := &composition.Application{AccountID: acme.ID, PlanID: plan("gold"), Name: "Twin"}
	onBasic := &composition.Application{AccountID: acme.ID, PlanID: plan("basic"), Name: "Twin"}
	require.NoError(t, tx.Create(onGold))
	require.NoError(t, tx.Create(onBasic))
	home := tx.Result()

	for _, secrets := range []bool{false, true} {
		docs := manifest.Export(home, manifest.ExportOptions{IncludeSecrets: secrets})
		desired, err := manifest.Desired(docs, home)
		require.NoError(t, err)
		changes, err := composition.Diff(home, desired, composition.DiffOptions{Secrets: true, Owners: manifest.Owners(docs)})
		require.NoError(t, err)
		assert.Empty(t, changes.Changes, "secrets %v: an export applied back to its home changes nothing", secrets)

		twins := desired.Applications.Filter(func(a *composition.Application) bool { return a.Name == "Twin" })
		require.Len(t, twins, 2)
		for _, app := range twins {
			p, ok := desired.ApplicationPlans.Get(app.PlanID) // Desired's ids are its own
			require.True(t, ok)
			want := onGold
			if p.SystemName == "basic" {
				want = onBasic
			}
			assert.Equal(t, want.UserKey, app.UserKey, "secrets %v: each twin keeps its own key on its own plan", secrets)
		}
	}
}
