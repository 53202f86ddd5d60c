package registry

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

func TestHeartbeatReplyCarriesPlacementOnlyWhenChanged(t *testing.T) {
	f := newFixture(t)
	svc := &composition.Service{Name: "News", SystemName: "news"}
	f.store.write(t, func(tx *composition.Tx) error { return tx.Create(svc) })
	basic := &composition.ApplicationPlan{ServiceID: svc.ID, Name: "Basic", SystemName: "basic"}
	gold := &composition.ApplicationPlan{ServiceID: svc.ID, Name: "Gold", SystemName: "gold"}
	f.store.write(t, func(tx *composition.Tx) error {
		if err := tx.Create(basic); err != nil {
			return err
		}
		return tx.Create(gold)
	})

	rg := reg("news")
	rg.Labels = map[string]string{"pool": "gold"}
	reply, err := f.r.Register("a", rg)
	require.NoError(t, err)
	assert.Equal(t, "news", reply.Placement.Service)
	assert.Len(t, reply.Placement.Plans, 2)
	assert.Equal(t, f.store.Snapshot().Revision, reply.Revision)

	hb, err := f.r.Heartbeat("a", Heartbeat{Status: StatusPassing})
	require.NoError(t, err)
	assert.Nil(t, hb.Placement)

	// A write that does not move the instance: new revision, no placement.
	snap := f.store.write(t, func(tx *composition.Tx) error {
		return tx.Create(&composition.Service{Name: "Other", SystemName: "other"})
	})
	hb, err = f.r.Heartbeat("a", Heartbeat{Status: StatusPassing, Revision: snap.Revision - 1})
	require.NoError(t, err)
	assert.Equal(t, snap.Revision, hb.Revision)
	assert.Nil(t, hb.Placement, "same content, only the revision moved")

	// A placement picking gold instances: the next heartbeat carries it, once.
	snap = f.store.write(t, func(tx *composition.Tx) error {
		return tx.Create(&composition.Placement{Name: "gold-pool", ServiceID: svc.ID, PlanIDs: []int64{gold.ID},
			Selector: composition.Selector{Service: "news", Labels: map[string]string{"pool": "gold"}}})
	})
	hb, err = f.r.Heartbeat("a", Heartbeat{Status: StatusPassing})
	require.NoError(t, err)
	require.NotNil(t, hb.Placement)
	assert.Equal(t, []PlanRef{{ID: gold.ID, SystemName: "gold", Name: "Gold"}}, hb.Placement.Plans)
	assert.Equal(t, []string{"gold-pool"}, hb.Placement.Placements)
	assert.Equal(t, snap.Revision, hb.Placement.Revision)

	hb, err = f.r.Heartbeat("a", Heartbeat{Status: StatusPassing})
	require.NoError(t, err)
	assert.Nil(t, hb.Placement, "told once")
}
