package composition

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func createFeature(t testing.TB, tx *Tx, serviceID int64, name, scope string) *Feature {
	t.Helper()
	f := &Feature{OwnerType: OwnerService, OwnerID: serviceID, Name: name, Scope: scope, Visible: true}
	require.NoError(t, tx.Create(f))
	return f
}

// A service feature takes its system_name from its name, once per service,
// and only the two scopes 3scale allows a service's features.
func TestFeatureDefaultsAndValidation(t *testing.T) {
	h := newTestHead()
	mustUpdate(t, h, func(tx *Tx) error {
		svc, _ := createService(t, tx, "Shop", "1")
		other, _ := createService(t, tx, "Other", "1")
		f := createFeature(t, tx, svc.ID, "Premium Support", "")
		assert.Equal(t, "premium_support", f.SystemName)
		assert.Equal(t, ScopeApplicationPlan, f.Scope)

		requireField(t, tx.Create(&Feature{OwnerType: OwnerService, OwnerID: svc.ID, Name: "Premium Support"}), "system_name")
		createFeature(t, tx, other.ID, "Premium Support", "") // another service's namespace
		requireField(t, tx.Create(&Feature{OwnerType: OwnerService, OwnerID: svc.ID, Name: "X", Scope: "application_plan"}), "scope")
		requireField(t, tx.Create(&Feature{OwnerType: OwnerService, OwnerID: svc.ID, Name: "X", Scope: ScopeAccountPlan}), "scope")
		requireField(t, tx.Create(&Feature{OwnerType: OwnerService, OwnerID: svc.ID}), "name")
		requireNotFound(t, tx.Create(&Feature{OwnerType: OwnerService, OwnerID: 999, Name: "X"}), KindService)

		acct := &Feature{OwnerType: OwnerAccount, OwnerID: ProviderAccountID, Name: "Forum", Scope: ScopeApplicationPlan}
		require.NoError(t, tx.Create(acct))
		assert.Equal(t, ScopeAccountPlan, acct.Scope, "an account feature is for account plans")
		return nil
	})
}

// Enabling links a feature to a plan of its service and scope, once;
// disabling unlinks it. Neither changes the feature's updated_at.
func TestEnableAndDisableFeature(t *testing.T) {
	h := newTestHead()
	var plan, otherPlan *ApplicationPlan
	var f, servicePlanOnly, foreign *Feature
	mustUpdate(t, h, func(tx *Tx) error {
		svc, _ := createService(t, tx, "Shop", "1")
		other, _ := createService(t, tx, "Other", "1")
		plan = createPlan(t, tx, svc.ID, "Basic", false)
		otherPlan = createPlan(t, tx, other.ID, "Basic", false)
		f = createFeature(t, tx, svc.ID, "SLA", ScopeApplicationPlan)
		servicePlanOnly = createFeature(t, tx, svc.ID, "Portal", ScopeServicePlan)
		foreign = createFeature(t, tx, other.ID, "SLA", ScopeApplicationPlan)
		return nil
	})
	later := NewHead(h.Snapshot(), nopPersist, func() time.Time { return testNow.Add(time.Hour) })
	s := mustUpdate(t, later, func(tx *Tx) error {
		got, err := tx.EnableFeature(f.ID, plan.ID)
		require.NoError(t, err)
		assert.Equal(t, []int64{plan.ID}, got.PlanIDs)
		return nil
	})
	stored, _ := s.Features.Get(f.ID)
	assert.Equal(t, []int64{plan.ID}, stored.PlanIDs)
	assert.Equal(t, f.UpdatedAt, stored.UpdatedAt, "enabling writes the link, not the feature")
	assert.Equal(t, []*Feature{stored}, s.PlanFeatures(plan.ID))

	_, err := later.Update(context.Background(), func(tx *Tx) error { _, err := tx.EnableFeature(f.ID, plan.ID); return err })
	requireField(t, err, "feature_id")
	_, err = later.Update(context.Background(), func(tx *Tx) error { _, err := tx.EnableFeature(servicePlanOnly.ID, plan.ID); return err })
	requireField(t, err, "plan_type")
	_, err = later.Update(context.Background(), func(tx *Tx) error { _, err := tx.EnableFeature(foreign.ID, plan.ID); return err })
	requireNotFound(t, err, KindFeature)
	_, err = later.Update(context.Background(), func(tx *Tx) error { _, err := tx.EnableFeature(f.ID, otherPlan.ID); return err })
	requireNotFound(t, err, KindFeature)
	_, err = later.Update(context.Background(), func(tx *Tx) error { _, err := tx.EnableFeature(f.ID, 999); return err })
	requireNotFound(t, err, KindApplicationPlan)

	_, err = later.Update(context.Background(), func(tx *Tx) error { return tx.DisableFeature(servicePlanOnly.ID, plan.ID) })
	requireNotFound(t, err, KindFeature)
	s = mustUpdate(t, later, func(tx *Tx) error { return tx.DisableFeature(f.ID, plan.ID) })
	stored, _ = s.Features.Get(f.ID)
	assert.Empty(t, stored.PlanIDs)
	assert.Empty(t, s.PlanFeatures(plan.ID))
}

// Deleting a plan disables its features; deleting a service deletes its
// features; an export of what is left imports again with its links.
func TestFeatureCascadeAndExport(t *testing.T) {
	h := newTestHead()
	var svc, gone *Service
	var keep, drop *ApplicationPlan
	var f *Feature
	mustUpdate(t, h, func(tx *Tx) error {
		svc, _ = createService(t, tx, "Shop", "1")
		gone, _ = createService(t, tx, "Gone", "1")
		keep = createPlan(t, tx, svc.ID, "Keep", false)
		drop = createPlan(t, tx, svc.ID, "Drop", false)
		f = createFeature(t, tx, svc.ID, "SLA", ScopeApplicationPlan)
		createFeature(t, tx, gone.ID, "SLA", ScopeApplicationPlan)
		for _, p := range []*ApplicationPlan{keep, drop} {
			if _, err := tx.EnableFeature(f.ID, p.ID); err != nil {
				return err
			}
		}
		return nil
	})
	s := mustUpdate(t, h, func(tx *Tx) error { return tx.Delete(KindApplicationPlan, drop.ID) })
	stored, _ := s.Features.Get(f.ID)
	assert.Equal(t, []int64{keep.ID}, stored.PlanIDs)
	s = mustUpdate(t, h, func(tx *Tx) error { return tx.Delete(KindService, gone.ID) })
	assert.Equal(t, 1, s.Features.Len(), "the deleted service's feature goes with it")

	tx := NewTx(New(), testNow)
	stats, err := Import(tx, Export(s, true, testNow))
	require.NoError(t, err)
	imported := tx.View().Features.All()
	require.Len(t, imported, 1)
	newPlan := stats.IDs[keep.ID]
	assert.Equal(t, []int64{newPlan}, imported[0].PlanIDs)
	assert.Equal(t, stats.IDs[svc.ID], imported[0].OwnerID)
}

// A custom plan is a copy of a stock plan of its service; deleting the
// original deletes its customizations, and is refused while one has
// applications.
func TestCustomPlanFollowsItsOriginal(t *testing.T) {
	h := newTestHead()
	var orig, custom *ApplicationPlan
	var app *Application
	mustUpdate(t, h, func(tx *Tx) error {
		svc, _ := createService(t, tx, "Shop", "1")
		other, _ := createService(t, tx, "Other", "1")
		orig = createPlan(t, tx, svc.ID, "Basic", false)
		custom = &ApplicationPlan{ServiceID: svc.ID, Name: "Basic (custom)", OriginalID: orig.ID}
		require.NoError(t, tx.Create(custom))
		assert.True(t, custom.Custom)
		requireField(t, tx.Create(&ApplicationPlan{ServiceID: other.ID, Name: "X", OriginalID: orig.ID}), "original_id")
		requireField(t, tx.Create(&ApplicationPlan{ServiceID: svc.ID, Name: "Y", OriginalID: custom.ID}), "original_id")
		app = createApp(t, tx, createAccount(t, tx, "Acme").ID, custom.ID, "App")
		return nil
	})
	_, err := h.Update(context.Background(), func(tx *Tx) error { return tx.Delete(KindApplicationPlan, orig.ID) })
	requireField(t, err, "base")

	s := mustUpdate(t, h, func(tx *Tx) error {
		n := *app
		n.PlanID = orig.ID
		return tx.Update(&n)
	})
	_, ok := s.ApplicationPlans.Get(custom.ID)
	assert.False(t, ok, "leaving the custom plan deletes it")

	h2 := newTestHead()
	mustUpdate(t, h2, func(tx *Tx) error {
		svc, _ := createService(t, tx, "Shop", "1")
		orig = createPlan(t, tx, svc.ID, "Basic", false)
		custom = &ApplicationPlan{ServiceID: svc.ID, Name: "Basic (custom)", OriginalID: orig.ID}
		return tx.Create(custom)
	})
	s = mustUpdate(t, h2, func(tx *Tx) error { return tx.Delete(KindApplicationPlan, orig.ID) })
	_, ok = s.ApplicationPlans.Get(custom.ID)
	assert.False(t, ok, "the customization goes with its original")
}
