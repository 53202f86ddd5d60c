package composition

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A custom plan is one application's: it goes when the application moves to
// another plan or is deleted, as 3scale's Contract does.
func TestCustomPlanGoesWithItsApplication(t *testing.T) {
	h := newTestHead()
	var orig, moved, deleted *ApplicationPlan
	var mover, leaver, stayer *Application
	mustUpdate(t, h, func(tx *Tx) error {
		svc, _ := createService(t, tx, "Shop", "1")
		orig = createPlan(t, tx, svc.ID, "Basic", false)
		acct := createAccount(t, tx, "Acme")
		moved = &ApplicationPlan{ServiceID: svc.ID, Name: "Basic (custom)", SystemName: "basic_custom_1", OriginalID: orig.ID}
		require.NoError(t, tx.Create(moved))
		deleted = &ApplicationPlan{ServiceID: svc.ID, Name: "Basic (custom)", SystemName: "basic_custom_2", OriginalID: orig.ID}
		require.NoError(t, tx.Create(deleted))
		mover = createApp(t, tx, acct.ID, moved.ID, "Mover")
		leaver = createApp(t, tx, acct.ID, deleted.ID, "Leaver")
		stayer = createApp(t, tx, acct.ID, orig.ID, "Stayer")
		return nil
	})

	s := mustUpdate(t, h, func(tx *Tx) error {
		n := *stayer
		n.Name = "Renamed"
		return tx.Update(&n)
	})
	assert.Len(t, s.Customizations(orig.ID), 2, "an update elsewhere leaves used custom plans alone")

	s = mustUpdate(t, h, func(tx *Tx) error {
		n := *mover
		n.PlanID = orig.ID
		return tx.Update(&n)
	})
	_, ok := s.ApplicationPlans.Get(moved.ID)
	assert.False(t, ok, "the custom plan an application leaves is deleted")

	s = mustUpdate(t, h, func(tx *Tx) error { return tx.Delete(KindApplication, leaver.ID) })
	_, ok = s.ApplicationPlans.Get(deleted.ID)
	assert.False(t, ok, "a deleted application's custom plan is deleted")
	_, ok = s.ApplicationPlans.Get(orig.ID)
	assert.True(t, ok)

	// An export with a custom plan imports again, the copy tied to the
	// original's new id.
	mustUpdate(t, h, func(tx *Tx) error {
		custom := &ApplicationPlan{ServiceID: orig.ServiceID, Name: "Basic (custom)", SystemName: "basic_custom_z", OriginalID: orig.ID}
		require.NoError(t, tx.Create(custom))
		n := *stayer
		n.PlanID = custom.ID
		return tx.Update(&n)
	})
	tx := NewTx(New(), testNow)
	stats, err := Import(tx, Export(h.Snapshot(), true, testNow))
	require.NoError(t, err)
	customs := tx.View().Customizations(stats.IDs[orig.ID])
	require.Len(t, customs, 1)
	assert.True(t, customs[0].Custom)
}

// An account's delete takes its applications' custom plans with them, as
// each application's own delete does; other accounts' stay.
func TestCustomPlanGoesWithItsAccount(t *testing.T) {
	tx := NewTx(New(), testNow)
	svc, _ := createService(t, tx, "Shop", "1")
	orig := createPlan(t, tx, svc.ID, "Basic", false)
	custom := func(name string) *ApplicationPlan {
		p := &ApplicationPlan{ServiceID: svc.ID, Name: "Basic (custom)", SystemName: name, OriginalID: orig.ID}
		require.NoError(t, tx.Create(p))
		return p
	}
	leaving, staying := createAccount(t, tx, "Leaving"), createAccount(t, tx, "Staying")
	first, second, kept := custom("basic_custom_1"), custom("basic_custom_2"), custom("basic_custom_3")
	createApp(t, tx, leaving.ID, first.ID, "First")
	createApp(t, tx, leaving.ID, second.ID, "Second")
	createApp(t, tx, staying.ID, kept.ID, "Kept")

	require.NoError(t, tx.Delete(KindAccount, leaving.ID))
	for _, p := range []*ApplicationPlan{first, second} {
		_, ok := tx.View().ApplicationPlans.Get(p.ID)
		assert.False(t, ok, "custom plan %s outlived its account", p.SystemName)
	}
	_, ok := tx.View().ApplicationPlans.Get(kept.ID)
	assert.True(t, ok, "another account's custom plan stays")
	_, ok = tx.View().ApplicationPlans.Get(orig.ID)
	assert.True(t, ok, "the stock plan stays")
}
