package composition

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A feature's plans are reconciled beside a custom plan enabling it: the
// plans a document names are compared and written, the custom plan, which
// no document can name, is left out of the comparison and kept.
func TestFeaturePlansReconciledBesideACustomPlan(t *testing.T) {
	var gold, custom *ApplicationPlan
	current := built(t, func(tx *Tx) {
		svc, _ := createService(t, tx, "News", "1")
		gold = createPlan(t, tx, svc.ID, "Gold", false)
		createPlan(t, tx, svc.ID, "Basic", false)
		custom = &ApplicationPlan{ServiceID: svc.ID, Name: "Gold (custom)", SystemName: "gold_custom", OriginalID: gold.ID}
		require.NoError(t, tx.Create(custom))
		f := &Feature{OwnerType: OwnerService, OwnerID: svc.ID, Name: "SLA"}
		require.NoError(t, tx.Create(f))
		for _, p := range []int64{gold.ID, custom.ID} {
			_, err := tx.EnableFeature(f.ID, p)
			require.NoError(t, err)
		}
	})
	p, err := Diff(current, renumbered(t, current), DiffOptions{Prune: true})
	require.NoError(t, err)
	assert.Empty(t, planSummary(p), "the custom plan is no difference")

	// The document moves sla from gold to basic.
	desired := renumbered(t, edited(t, current, func(tx *Tx) {
		f := byKey[*Feature](t, tx.View(), "service:news/feature:sla")
		basic := byKey[*ApplicationPlan](t, tx.View(), "service:news/plan:basic")
		_, err := tx.EnableFeature(f.ID, basic.ID)
		require.NoError(t, err)
		err = tx.DisableFeature(f.ID, gold.ID)
		require.NoError(t, err)
	}))
	h := newCountingHead(t, current)
	snap := mustUpdate(t, h.Head, func(tx *Tx) error { _, err := Reconcile(tx, desired, DiffOptions{}); return err })
	f := byKey[*Feature](t, snap, "service:news/feature:sla")
	basic := byKey[*ApplicationPlan](t, snap, "service:news/plan:basic")
	assert.Equal(t, []int64{basic.ID, custom.ID}, f.PlanIDs, "basic enables it, gold no longer, the custom plan still")
}
