package registry

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// Two placements of different services picking one instance (an operator
// moving a pool from news to billing, the old placement not yet deleted):
// the instance serves one service, the lowest placement's, so it serves only
// that service's plans and is listed under that placement alone. A plan of
// the other service is no plan it serves: its placement file, its Consul
// meta and the map (`--plan standard`) would otherwise show a news container
// serving billing's plan.
func TestOverlappingPlacementsOfTwoServicesServeOnlyTheFirstServicesPlans(t *testing.T) {
	w, store := newWorld(t)
	toBilling := &composition.Placement{Name: "gold-to-billing", ServiceID: w.billing.ID, PlanIDs: []int64{w.standard.ID},
		Selector: composition.Selector{Service: "news", Labels: map[string]string{"pool": "gold"}}}
	store.write(t, func(tx *composition.Tx) error { return tx.Create(toBilling) })

	r, err := New(Config{Store: store, Now: newClock().Now})
	require.NoError(t, err)
	rg := reg("news")
	rg.Labels = map[string]string{"pool": "gold"}
	reply, err := r.Register("news-gold-1", rg)
	require.NoError(t, err)

	p := reply.Placement
	assert.Equal(t, "news", p.Service)
	assert.Equal(t, w.news.ID, p.ServiceID)
	assert.Equal(t, []PlanRef{{ID: w.gold.ID, SystemName: "gold", Name: "Gold"}}, p.Plans,
		"only news's plans: billing's standard is not served by a news instance")
	assert.Equal(t, []string{"gold-pool"}, p.Placements, "the billing placement did not place it")

	q, err := ParseMapQuery(map[string][]string{ParamPlan: {"standard"}})
	require.NoError(t, err)
	for _, s := range r.MapPage(q).Services {
		for _, in := range s.Instances {
			assert.NotEqual(t, "news-gold-1", in.ID, "map --plan standard lists the news instance under %s", s.Name)
		}
	}
}
