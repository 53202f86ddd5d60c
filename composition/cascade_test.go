package composition

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Removing a backend from a product removes the product plans' limits and
// pricing rules on that backend's metrics, so no reference dangles (an export
// of the result imports again).
func TestDeleteBackendUsageRemovesLimitsOnItsMetrics(t *testing.T) {
	h := newTestHead()
	var usage *BackendUsage
	var keep *UsageLimit
	mustUpdate(t, h, func(tx *Tx) error {
		svc, hits := createService(t, tx, "Shop", "1")
		b, bhits := createBackend(t, tx, "Stock")
		usage = &BackendUsage{ServiceID: svc.ID, BackendAPIID: b.ID, Path: "/stock"}
		require.NoError(t, tx.Create(usage))
		plan := createPlan(t, tx, svc.ID, "Basic", false)
		require.NoError(t, tx.Create(&UsageLimit{PlanID: plan.ID, MetricID: bhits.ID, Period: "day", Value: 10}))
		require.NoError(t, tx.Create(&PricingRule{PlanID: plan.ID, MetricID: bhits.ID, CostPerUnit: "0.5", Min: 1}))
		keep = &UsageLimit{PlanID: plan.ID, MetricID: hits.ID, Period: "day", Value: 10}
		return tx.Create(keep)
	})
	s := mustUpdate(t, h, func(tx *Tx) error { return tx.Delete(KindBackendUsage, usage.ID) })
	assert.Equal(t, 1, s.UsageLimits.Len())
	_, ok := s.UsageLimits.Get(keep.ID)
	assert.True(t, ok, "the limit on the product's own metric stays")
	assert.Equal(t, 0, s.PricingRules.Len())

	tx := NewTx(New(), testNow)
	_, err := Import(tx, Export(s, true, testNow))
	require.NoError(t, err)
}

// A placement whose every listed plan is deleted is deleted too: with no
// plans listed it would serve them all.
func TestDeletingAPlacementsLastPlanDeletesIt(t *testing.T) {
	h := newTestHead()
	var p1, p2 *ApplicationPlan
	var both, only1 *Placement
	mustUpdate(t, h, func(tx *Tx) error {
		svc, _ := createService(t, tx, "News", "1")
		p1 = createPlan(t, tx, svc.ID, "Basic", false)
		p2 = createPlan(t, tx, svc.ID, "Premium", false)
		both = &Placement{Selector: Selector{Service: "news"}, ServiceID: svc.ID, PlanIDs: []int64{p1.ID, p2.ID}}
		only1 = &Placement{Selector: Selector{Service: "news", Labels: map[string]string{"pool": "basic"}}, ServiceID: svc.ID, PlanIDs: []int64{p1.ID}}
		require.NoError(t, tx.Create(both))
		return tx.Create(only1)
	})
	s := mustUpdate(t, h, func(tx *Tx) error { return tx.Delete(KindApplicationPlan, p1.ID) })
	got, ok := s.Placements.Get(both.ID)
	require.True(t, ok)
	assert.Equal(t, []int64{p2.ID}, got.PlanIDs)
	_, ok = s.Placements.Get(only1.ID)
	assert.False(t, ok)
}

// Export hands out copies: editing the document leaves the snapshot alone.
func TestExportDoesNotAliasTheSnapshot(t *testing.T) {
	h := newTestHead()
	s := mustUpdate(t, h, func(tx *Tx) error {
		createService(t, tx, "News", "1")
		return nil
	})
	d := Export(s, true, testNow)
	d.Services[0].Name = "changed"
	d.Proxies[0].SecretToken = "changed"
	assert.Equal(t, "News", s.Services.All()[0].Name)
	assert.NotEqual(t, "changed", s.Proxies.All()[0].SecretToken)
}
