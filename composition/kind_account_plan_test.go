package composition

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An account plan starts hidden with a system_name of its name, unique among
// the provider's; one default at most; a new account goes on the default.
func TestAccountPlanDefaultsAndDefault(t *testing.T) {
	h := newTestHead()
	var first, second *AccountPlan
	var acc *Account
	s := mustUpdate(t, h, func(tx *Tx) error {
		acc = createAccount(t, tx, "No plan yet")
		assert.Zero(t, acc.PlanID, "no default account plan: no plan")
		first = &AccountPlan{Name: "Basic Tier", Default: true}
		require.NoError(t, tx.Create(first))
		assert.Equal(t, "basic_tier", first.SystemName)
		assert.Equal(t, PlanHidden, first.State)
		requireField(t, tx.Create(&AccountPlan{Name: "Basic Tier"}), "system_name")
		requireField(t, tx.Create(&AccountPlan{}), "name")
		second = &AccountPlan{Name: "Pro", Default: true}
		require.NoError(t, tx.Create(second))
		acc = createAccount(t, tx, "On the default")
		assert.Equal(t, second.ID, acc.PlanID)
		requireNotFound(t, tx.Create(&Account{OrgName: "Bad", PlanID: 999}), KindAccountPlan)
		return nil
	})
	got, _ := s.AccountPlans.Get(first.ID)
	assert.False(t, got.Default, "a new default makes the old one plain")
	def, ok := s.DefaultAccountPlan()
	require.True(t, ok)
	assert.Equal(t, second.ID, def.ID)

	_, err := h.Update(context.Background(), func(tx *Tx) error { return tx.Delete(KindAccountPlan, second.ID) })
	requireField(t, err, "base")
	s = mustUpdate(t, h, func(tx *Tx) error { return tx.Delete(KindAccountPlan, first.ID) })
	_, ok = s.AccountPlans.Get(first.ID)
	assert.False(t, ok)
}

// Only the provider's account features are enabled on account plans; a
// service's is not found there, and deleting the plan disables its features.
func TestAccountPlanFeatures(t *testing.T) {
	h := newTestHead()
	var plan *AccountPlan
	var forum, sla *Feature
	mustUpdate(t, h, func(tx *Tx) error {
		svc, _ := createService(t, tx, "Shop", "1")
		plan = &AccountPlan{Name: "Basic"}
		require.NoError(t, tx.Create(plan))
		forum = &Feature{OwnerType: OwnerAccount, OwnerID: ProviderAccountID, Name: "Forum"}
		require.NoError(t, tx.Create(forum))
		sla = createFeature(t, tx, svc.ID, "SLA", ScopeApplicationPlan)
		return nil
	})
	_, err := h.Update(context.Background(), func(tx *Tx) error { _, err := tx.EnableFeature(sla.ID, plan.ID); return err })
	requireNotFound(t, err, KindFeature)
	s := mustUpdate(t, h, func(tx *Tx) error { _, err := tx.EnableFeature(forum.ID, plan.ID); return err })
	assert.Len(t, s.PlanFeatures(plan.ID), 1)
	s = mustUpdate(t, h, func(tx *Tx) error { return tx.Delete(KindAccountPlan, plan.ID) })
	f, _ := s.Features.Get(forum.ID)
	assert.Empty(t, f.PlanIDs, "the deleted plan no longer enables the feature")
}
