package composition

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestImportByNameIntoEmptyEqualsImport(t *testing.T) {
	src := richComposition(t, true)
	for _, secrets := range []bool{false, true} {
		doc := reencode(t, Export(src, secrets, testNow))
		want, err := doc.Canonical()
		require.NoError(t, err)

		tx := NewTx(New(), testNow)
		stats, err := ImportByName(tx, reencode(t, doc))
		require.NoError(t, err)
		got := tx.Result()
		assert.Equal(t, docCounts(want), docCounts(Export(got, secrets, testNow)), "secrets %v", secrets)
		p, err := Diff(got, src, DiffOptions{Prune: true, Secrets: secrets})
		require.NoError(t, err)
		assert.Empty(t, planSummary(p), "secrets %v", secrets)
		assert.Equal(t, docEntityCount(doc)-len(doc.WebHookEvents), stats.Entities, "every entity but the source's webhook outbox is imported once")
		for _, s := range doc.Services {
			assert.NotZero(t, stats.IDs[s.ID], "service %d has its new id", s.ID)
		}
	}
}

func TestImportByNameTwiceWritesNothing(t *testing.T) {
	src := richComposition(t, true)
	for _, secrets := range []bool{false, true} {
		doc := Export(src, secrets, testNow)
		h := newCountingHead(t, New())
		for range 2 {
			mustUpdate(t, h.Head, func(tx *Tx) error { _, err := ImportByName(tx, reencode(t, doc)); return err })
		}
		assert.Equal(t, 1, h.persisted, "secrets %v: the second import makes no revision", secrets)
	}
}

func TestImportByNameUpdatesWhatTheHomeHolds(t *testing.T) {
	src := richComposition(t, true)
	const limitKey = "service:news_api/plan:basic/limit:service:news_api/metric:hits@day"
	// The home holds the same, but for a limit's value and the gold plan.
	home := edited(t, renumbered(t, src), func(tx *Tx) {
		l := *byKey[*UsageLimit](t, tx.View(), limitKey)
		l.Value = 7
		require.NoError(t, tx.Update(&l))
		gold := byKey[*ApplicationPlan](t, tx.View(), "service:news_api/plan:gold")
		for _, a := range tx.View().Applications.Filter(func(a *Application) bool { return a.PlanID == gold.ID }) {
			require.NoError(t, tx.Delete(KindApplication, a.ID))
		}
		require.NoError(t, tx.Delete(KindApplicationPlan, gold.ID))
	})
	tx := NewTx(home, testNow)
	_, err := ImportByName(tx, reencode(t, Export(src, true, testNow)))
	require.NoError(t, err, "entities the home holds are updated, not refused as taken")
	got := tx.Result()

	assert.Equal(t, int64(1000), byKey[*UsageLimit](t, got, limitKey).Value)
	gold := byKey[*ApplicationPlan](t, got, "service:news_api/plan:gold")
	app := byKey[*Application](t, got, "account:Globex/application:Globex feed@service:news_api")
	assert.Equal(t, gold.ID, app.PlanID)
	assert.Equal(t, 2, got.AccountPlans.Len(), "account plans matched by content, not doubled")
	globex := byKey[*Account](t, got, "account:Globex")
	partner, ok := got.AccountPlans.Get(globex.PlanID)
	require.True(t, ok)
	assert.Equal(t, "partner", partner.SystemName)
	p, err := Diff(got, src, DiffOptions{Prune: true, Secrets: true})
	require.NoError(t, err)
	assert.Empty(t, planSummary(p), "%+v", p.Changes)
}

func TestImportByNameRefusesADanglingReference(t *testing.T) {
	doc := &Document{Format: DocumentFormat, MappingRules: []*MappingRule{{ID: 5, OwnerType: OwnerService, OwnerID: 77, MetricID: 78, HTTPMethod: "GET", Pattern: "/x", Delta: 1}}}
	_, err := ImportByName(NewTx(New(), testNow), doc)
	requireField(t, err, "owner_id")
	assert.Contains(t, err.Error(), "mapping_rules 5")

	_, err = ImportByName(NewTx(New(), testNow), &Document{Format: "other"})
	requireField(t, err, "format")
}

func TestImportByNameWritesOnlyTheSecretsADocumentGives(t *testing.T) {
	src := richComposition(t, false)
	home := renumbered(t, src)
	news := byKey[*Service](t, src, "service:news_api")

	tx := NewTx(home, testNow)
	_, err := ImportByName(tx, reencode(t, Export(src, false, testNow)))
	require.NoError(t, err)
	assert.Empty(t, tx.Changes(), "a document without secrets keeps the home's")

	doc := reencode(t, Export(src, true, testNow))
	for _, p := range doc.Proxies {
		if p.ServiceID == news.ID {
			p.SecretToken = "rotated"
		}
	}
	tx = NewTx(home, testNow)
	_, err = ImportByName(tx, doc)
	require.NoError(t, err)
	require.Len(t, tx.Changes(), 1, "only the proxy is written")
	assert.Equal(t, "rotated", byKey[*Proxy](t, tx.View(), "service:news_api/proxy").SecretToken)
}
