package client_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/coordinator"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/client"
)

// exportDocument is the export (with secrets) of the composition build
// writes, as `portolan import` takes it.
func exportDocument(t *testing.T, build func(*composition.Tx) error) []byte {
	t.Helper()
	nop := func(context.Context, []composition.Change, *composition.Composition) error { return nil }
	head := composition.NewHead(composition.New(), nop, nil)
	defer head.Close()
	snap, err := head.Update(context.Background(), build)
	require.NoError(t, err)
	b, err := json.Marshal(composition.Export(snap, true, time.Now()))
	require.NoError(t, err)
	return b
}

// poolsDocument is a composition with the news service, plans basic and
// premium, and a placement per pool: pool=basic serves basic, pool=premium
// serves premium.
func poolsDocument(t *testing.T) []byte {
	t.Helper()
	return exportDocument(t, func(tx *composition.Tx) error {
		svc := &composition.Service{Name: "News", SystemName: "news"}
		if err := tx.Create(svc); err != nil {
			return err
		}
		for _, pool := range []string{"basic", "premium"} {
			plan := &composition.ApplicationPlan{ServiceID: svc.ID, Name: pool, SystemName: pool}
			if err := tx.Create(plan); err != nil {
				return err
			}
			if err := tx.Create(&composition.Placement{Name: pool + "-pool", ServiceID: svc.ID, PlanIDs: []int64{plan.ID},
				Selector: composition.Selector{Service: "news", Labels: map[string]string{"pool": pool}}}); err != nil {
				return err
			}
		}
		return nil
	})
}

// TestScopedTokenCannotLeaveItsLabelOutToServeEveryPlan is the traffic
// capture of TestBasicPoolTokenCannotRegisterIntoPremiumPool by omission:
// an instance of a pool=basic token that leaves the label out matches no
// pool's placement, so it serves its service by default, every plan, and
// the map sends it premium traffic. A token's labels are required.
func TestScopedTokenCannotLeaveItsLabelOutToServeEveryPlan(t *testing.T) {
	base := homeWith(t, t.TempDir(), coordinator.IdentityConfig{})
	ctx := context.Background()
	_, err := newClient(t, client.Config{Address: base, Token: adminToken}).ImportComposition(ctx, poolsDocument(t))
	require.NoError(t, err)
	basic := joinToken(t, base, registry.JoinTokenSpec{Service: "news", Labels: map[string]string{"pool": "basic", "zone": "a"}})

	for name, labels := range map[string]map[string]string{
		"no labels":     nil,
		"one left out":  {"pool": "basic"},
		"other omitted": {"zone": "a"},
	} {
		c := agentWith(t, base, basic.Token)
		reply, err := c.Register(ctx, "evil-1", labelled("news", labels))
		require.Error(t, err, "%s: registered, placed in %+v", name, reply)
		assert.Equal(t, http.StatusForbidden, client.StatusCode(err), "%s: %v", name, err)
		assert.Contains(t, err.Error(), "the token requires it", name)
		assert.Empty(t, c.Credential(), "%s: no credential issued", name)
	}
	_, ok := findInstance(mapOf(t, base), "evil-1")
	assert.False(t, ok, "nothing reached the map")

	reply, err := agentWith(t, base, basic.Token).Register(ctx, "news-1", labelled("news", map[string]string{"pool": "basic", "zone": "a"}))
	require.NoError(t, err, "the token's own labels register")
	require.Len(t, reply.Placement.Plans, 1)
	assert.Equal(t, "basic", reply.Placement.Plans[0].SystemName, "and serve the basic plan alone")
}
