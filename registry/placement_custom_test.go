package registry

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/portolan/portolan/composition"
)

// An application's custom plan is served wherever the plan it was
// customized from is: a placement listing gold serves gold's copies.
func TestPlacementServesCustomizationsOfItsPlans(t *testing.T) {
	w, store := newWorld(t)
	custom := &composition.ApplicationPlan{ServiceID: w.news.ID, Name: "Gold (custom)", SystemName: "gold_custom_1", OriginalID: w.gold.ID}
	snap := store.write(t, func(tx *composition.Tx) error { return tx.Create(custom) })
	got := PlacementFor(snap, "news", map[string]string{"pool": "gold"})
	assert.Equal(t, []PlanRef{
		{ID: w.gold.ID, SystemName: "gold", Name: "Gold"},
		{ID: custom.ID, SystemName: "gold_custom_1", Name: "Gold (custom)"},
	}, got.Plans)
}
