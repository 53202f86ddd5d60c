package composition

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Account plans are reconciled by system_name: created before the accounts
// on them, updated field by field, an account moved between them by key,
// and never pruned, as no document owns them.
func TestReconcileAccountPlans(t *testing.T) {
	current := built(t, func(tx *Tx) {
		require.NoError(t, tx.Create(&AccountPlan{Name: "Legacy", Default: true}))
		createAccount(t, tx, "Globex")
	})
	desired := built(t, func(tx *Tx) {
		partners := &AccountPlan{Name: "Partners", State: PlanPublished, CostPerMonth: "10"}
		require.NoError(t, tx.Create(partners))
		require.NoError(t, tx.Create(&Account{OrgName: "ACME", PlanID: partners.ID}))
	})
	p, err := Diff(current, desired, DiffOptions{Prune: true})
	require.NoError(t, err)
	assert.Equal(t, []string{"create account_plans account_plan:partners", "create accounts account:ACME"}, planSummary(p),
		"the legacy plan and Globex are not the documents' to prune")

	h := newCountingHead(t, current)
	snap := mustUpdate(t, h.Head, func(tx *Tx) error { return tx.Apply(p) })
	assert.Equal(t, 1, h.persisted)
	partners := byKey[*AccountPlan](t, snap, "account_plan:partners")
	assert.Equal(t, PlanPublished, partners.State)
	assert.Equal(t, Decimal("10.0"), partners.CostPerMonth)
	assert.Equal(t, partners.ID, byKey[*Account](t, snap, "account:ACME").PlanID)
	_, ok := newKeyIndex(snap).entity("account_plan:legacy")
	assert.True(t, ok, "never pruned")

	again, err := Diff(snap, desired, DiffOptions{Prune: true})
	require.NoError(t, err)
	assert.True(t, again.Empty(), "%v", planSummary(again))

	// A new price, and ACME moved to the legacy plan, by its key.
	moved := edited(t, renumbered(t, snap), func(tx *Tx) {
		c := tx.View()
		n := *byKey[*AccountPlan](t, c, "account_plan:partners")
		n.CostPerMonth = "12"
		require.NoError(t, tx.Update(&n))
		a := *byKey[*Account](t, c, "account:ACME")
		a.PlanID = byKey[*AccountPlan](t, c, "account_plan:legacy").ID
		require.NoError(t, tx.Update(&a))
	})
	p, err = Diff(snap, moved, DiffOptions{})
	require.NoError(t, err)
	require.Len(t, p.Changes, 2, "%v", planSummary(p))
	assert.Equal(t, []FieldChange{{Field: "cost_per_month", Old: []byte("10.0"), New: []byte("12.0")}}, p.Changes[0].Fields)
	assert.Equal(t, []FieldChange{{Field: "plan_id", Old: []byte(`"account_plan:partners"`), New: []byte(`"account_plan:legacy"`)}}, p.Changes[1].Fields)
	_, err = h.Update(context.Background(), func(tx *Tx) error { return tx.Apply(p) })
	require.NoError(t, err)
}
