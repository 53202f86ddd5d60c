package composition

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A subscription takes its service, setup fee and state from its plan, once
// per account and service; a plan change stays within the service.
func TestServiceContractRules(t *testing.T) {
	h := newTestHead()
	mustUpdate(t, h, func(tx *Tx) error {
		svc, _ := createService(t, tx, "Shop", "1")
		other, _ := createService(t, tx, "Other", "1")
		acc := createAccount(t, tx, "ACME")
		open := &ServicePlan{ServiceID: svc.ID, Name: "Open"}
		gated := &ServicePlan{ServiceID: svc.ID, Name: "Gated", ApprovalRequired: true, Default: true}
		foreign := &ServicePlan{ServiceID: other.ID, Name: "Open"}
		for _, p := range []*ServicePlan{open, gated, foreign} {
			require.NoError(t, tx.Create(p))
		}
		assert.Equal(t, PlanHidden, open.State)
		assert.Equal(t, "open", foreign.SystemName, "system names are per service")
		requireField(t, tx.Create(&ServicePlan{ServiceID: svc.ID, Name: "Open"}), "system_name")
		requireNotFound(t, tx.Create(&ServicePlan{ServiceID: 999, Name: "X"}), KindService)

		sub := &ServiceContract{AccountID: acc.ID, PlanID: open.ID}
		require.NoError(t, tx.Create(sub))
		assert.Equal(t, svc.ID, sub.ServiceID)
		assert.Equal(t, ContractLive, sub.State)
		assert.NotNil(t, sub.AcceptedAt)
		requireField(t, tx.Create(&ServiceContract{AccountID: acc.ID, PlanID: gated.ID}), "base")
		require.NoError(t, tx.Create(&ServiceContract{AccountID: acc.ID, PlanID: foreign.ID}), "another service: another subscription")

		moved := *sub
		moved.PlanID = foreign.ID
		requireField(t, tx.Update(&moved), "plan")
		moved.PlanID = gated.ID
		require.NoError(t, tx.Update(&moved))

		requireField(t, tx.Delete(KindServicePlan, gated.ID), "base")
		require.NoError(t, tx.Delete(KindServicePlan, open.ID), "a plan nobody is subscribed through goes")
		return nil
	})
}

// Deleting a service takes its service plans and the subscriptions through
// them; deleting an account takes its subscriptions; deleting a service plan
// disables its features.
func TestServicePlanCascades(t *testing.T) {
	h := newTestHead()
	var svc, kept *Service
	var acc, acc2 *Account
	var plan, keptPlan *ServicePlan
	var f *Feature
	mustUpdate(t, h, func(tx *Tx) error {
		svc, _ = createService(t, tx, "Shop", "1")
		kept, _ = createService(t, tx, "Kept", "1")
		acc, acc2 = createAccount(t, tx, "ACME"), createAccount(t, tx, "Globex")
		plan, keptPlan = &ServicePlan{ServiceID: svc.ID, Name: "P"}, &ServicePlan{ServiceID: kept.ID, Name: "K"}
		require.NoError(t, tx.Create(plan))
		require.NoError(t, tx.Create(keptPlan))
		f = createFeature(t, tx, kept.ID, "Portal", ScopeServicePlan)
		_, err := tx.EnableFeature(f.ID, keptPlan.ID)
		require.NoError(t, err)
		for _, e := range []Entity{
			&ServiceContract{AccountID: acc.ID, PlanID: plan.ID},
			&ServiceContract{AccountID: acc.ID, PlanID: keptPlan.ID},
			&ServiceContract{AccountID: acc2.ID, PlanID: keptPlan.ID},
		} {
			require.NoError(t, tx.Create(e))
		}
		return nil
	})
	s := mustUpdate(t, h, func(tx *Tx) error { return tx.Delete(KindService, svc.ID) })
	assert.Empty(t, s.ServicePlansOf(svc.ID))
	assert.Len(t, s.ServiceContracts.All(), 2)
	s = mustUpdate(t, h, func(tx *Tx) error { return tx.Delete(KindAccount, acc.ID) })
	assert.Empty(t, s.ServiceContractsOf(acc.ID))
	assert.Len(t, s.ServiceContractsOf(acc2.ID), 1)
	s = mustUpdate(t, h, func(tx *Tx) error {
		require.NoError(t, tx.Unsubscribe(acc2.ID, s.ServiceContractsOf(acc2.ID)[0].ID))
		return tx.Delete(KindServicePlan, keptPlan.ID)
	})
	feature, ok := s.Features.Get(f.ID)
	require.True(t, ok, "the feature stays")
	assert.Empty(t, feature.PlanIDs)
}
