package coordinator

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/threescale"
)

// A document's plans[...].features is applied even when one of the
// feature's plans is a custom plan (an application's copy).
func TestFeaturePlansAppliedBesideACustomPlan(t *testing.T) {
	docs := func(basicFeatures string) string {
		return `apiVersion: portolan.dev/v1
kind: Service
system_name: news
name: News
features:
- {system_name: sla, name: SLA}
plans:
- {system_name: gold, name: Gold, features: [sla]}
- {system_name: basic, name: Basic, features: ` + basicFeatures + `}
`
	}
	c := newApplyCoordinator(t, threescale.Caps{})
	code, body := postApply(t, c, "", docs("[]"))
	require.Equal(t, 200, code, body)

	// An application on gold gets a custom plan, as customize_plan makes
	// it: a copy of gold, which enables sla too.
	_, err := c.store.Update(context.Background(), func(tx *composition.Tx) error {
		v := tx.View()
		svc, _ := v.ServiceBySystemName("news")
		gold, _ := v.ApplicationPlans.Find(func(p *composition.ApplicationPlan) bool { return p.SystemName == "gold" })
		sla, _ := v.Features.Find(func(f *composition.Feature) bool { return f.SystemName == "sla" })
		custom := &composition.ApplicationPlan{ServiceID: svc.ID, Name: "Gold (custom)", SystemName: "gold_custom_1", OriginalID: gold.ID}
		if err := tx.Create(custom); err != nil {
			return err
		}
		_, err := tx.EnableFeature(sla.ID, custom.ID)
		return err
	})
	require.NoError(t, err)

	code, body = postApply(t, c, "", docs("[sla]"))
	require.Equal(t, 200, code, body)
	v := c.store.Snapshot()
	basic, _ := v.ApplicationPlans.Find(func(p *composition.ApplicationPlan) bool { return p.SystemName == "basic" })
	custom, _ := v.ApplicationPlans.Find(func(p *composition.ApplicationPlan) bool { return p.SystemName == "gold_custom_1" })
	sla, _ := v.Features.Find(func(f *composition.Feature) bool { return f.SystemName == "sla" })
	require.True(t, sla.EnabledOn(basic.ID), "the document enables sla on basic; answer: %s", body)
	require.True(t, sla.EnabledOn(custom.ID), "the custom plan keeps sla, which no document can name")

	code, body = postApply(t, c, "", docs("[sla]"))
	require.Equal(t, 200, code, body)
	require.Equal(t, v.Revision, c.store.Snapshot().Revision, "applying the same documents again changes nothing: %s", body)
}
