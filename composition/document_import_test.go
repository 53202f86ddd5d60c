package composition

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestImportRejectsDanglingReferences(t *testing.T) {
	src := newTestHead()
	mustUpdate(t, src, func(tx *Tx) error { buildRich(t, tx); return nil })
	orig := Export(src.Snapshot(), true, testNow)
	const ghost = 987654

	for _, tc := range []struct {
		field  string
		mutate func(d *Document)
	}{
		{"metric_id", func(d *Document) { d.MappingRules[0].MetricID = ghost }},
		{"owner_id", func(d *Document) { d.Metrics[len(d.Metrics)-1].OwnerID = ghost }},
		{"parent_id", func(d *Document) {
			for _, m := range d.Metrics {
				if m.ParentID != 0 {
					m.ParentID = ghost
					return
				}
			}
		}},
		{"backend_id", func(d *Document) { d.BackendUsages[0].BackendAPIID = ghost }},
		{"service_id", func(d *Document) { d.ApplicationPlans[0].ServiceID = ghost }},
		{"plan_id", func(d *Document) { d.UsageLimits[0].PlanID = ghost }},
		{"metric_id", func(d *Document) { d.PricingRules[0].MetricID = ghost }},
		{"service_id", func(d *Document) { d.Proxies[0].ServiceID = ghost }},
		{"service_id", func(d *Document) { d.ActiveDocs[0].ServiceID = ghost }},
		{"account_id", func(d *Document) { d.Users[0].AccountID = ghost }},
		{"user_account_id", func(d *Document) { d.Applications[0].AccountID = ghost }},
		{"plan_id", func(d *Document) { d.Applications[0].PlanID = ghost }},
		{"plan_ids", func(d *Document) { d.Placements[0].PlanIDs = append(d.Placements[0].PlanIDs, ghost) }},
	} {
		t.Run(tc.field, func(t *testing.T) {
			d := reencode(t, orig)
			tc.mutate(d)
			h := newTestHead()
			_, err := h.Update(context.Background(), func(tx *Tx) error {
				_, err := Import(tx, d)
				return err
			})
			requireField(t, err, tc.field)
			assert.Contains(t, err.Error(), tc.field)
			assert.Contains(t, err.Error(), "987654")
			assert.EqualValues(t, 0, h.Snapshot().Revision, "a failed import writes nothing")
			assert.Zero(t, h.Snapshot().Count())

			_, err = d.Canonical()
			requireField(t, err, tc.field)
		})
	}

	// An entity that fails validation names its kind and field.
	d := reencode(t, orig)
	d.Services[0].Name = ""
	_, err := Import(NewTx(New(), testNow), d)
	requireField(t, err, "name")
	assert.Contains(t, err.Error(), "import services")

	// Null entries are skipped.
	d = reencode(t, orig)
	d.Accounts = append(d.Accounts, nil)
	_, err = Import(NewTx(New(), testNow), d)
	require.NoError(t, err)
}

func TestImportRejectsWrongFormat(t *testing.T) {
	src := newTestHead()
	mustUpdate(t, src, func(tx *Tx) error { buildRich(t, tx); return nil })
	for _, format := range []string{"", "portolan.composition/v2", "3scale"} {
		d := reencode(t, Export(src.Snapshot(), true, testNow))
		d.Format = format
		tx := NewTx(New(), testNow)
		_, err := Import(tx, d)
		requireField(t, err, "format")
		assert.Empty(t, tx.Changes())
		_, err = d.Canonical()
		requireField(t, err, "format")
	}
}

func TestImportAcceptsMethodsBeforeTheirHits(t *testing.T) {
	tx := NewTx(New(), testNow)
	svc, hits := createService(t, tx, "Svc", "1")
	method := createMetric(t, tx, OwnerService, svc.ID, hits.ID, "Get")
	createRule(t, tx, OwnerService, svc.ID, method.ID, "GET", "/get", 1, 0, false)
	orig := Export(tx.Result(), true, testNow)

	// A hand-written document may list a method before its hits.
	d := reencode(t, orig)
	require.Len(t, d.Metrics, 2)
	d.Metrics[0], d.Metrics[1] = d.Metrics[1], d.Metrics[0]
	require.True(t, d.Metrics[0].IsMethod())
	into := NewTx(New(), testNow)
	_, err := Import(into, d)
	require.NoError(t, err)
	checkReferences(t, Export(into.View(), true, testNow))

	want, err := orig.Canonical()
	require.NoError(t, err)
	got, err := d.Canonical()
	require.NoError(t, err)
	require.Equal(t, want, got)
}
