package composition

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// names returns the system names of metrics.
func names(ms []*Metric) []string {
	out := []string{}
	for _, m := range ms {
		out = append(out, m.SystemName)
	}
	return out
}

// A table indexed by parent answers Under as a scan would, follows creates,
// moves and deletes, and a Tx's writes never show in the snapshot it
// started from.
func TestTableParentIndexFollowsWritesCopyOnWrite(t *testing.T) {
	var news, weather *Service
	base := built(t, func(tx *Tx) {
		news, _ = createService(t, tx, "News", "1")
		weather, _ = createService(t, tx, "Weather", "1")
	})
	hits, ok := base.Hits(OwnerService, news.ID)
	require.True(t, ok)

	tx := NewTx(base, testNow)
	bytes := createMetric(t, tx, OwnerService, news.ID, 0, "Bytes")
	list := createMetric(t, tx, OwnerService, news.ID, hits.ID, "List")
	assert.Equal(t, []string{"hits", "bytes", "list"}, names(tx.View().Metrics.Under(news.ID)))
	assert.Equal(t, []string{"hits"}, names(base.Metrics.Under(news.ID)), "the snapshot is untouched")
	assert.Equal(t, 3, tx.View().Metrics.CountUnder(news.ID))
	assert.Equal(t, tx.View().Metrics.Filter(func(m *Metric) bool { return m.OwnerID == news.ID }), tx.View().Metrics.Under(news.ID))

	require.NoError(t, tx.Delete(KindMetric, list.ID))
	after := tx.Result()
	assert.Equal(t, []string{"hits", "bytes"}, names(after.Metrics.Under(news.ID)))
	_, found := after.Metrics.FindUnder(news.ID, func(m *Metric) bool { return m.ID == list.ID })
	assert.False(t, found, "a deleted entity leaves its group")

	// An entity put under another parent leaves the first one's group
	// (Keep forbids it for metrics; the index does not rely on that).
	tx = NewTx(after, testNow)
	moved := *bytes
	moved.OwnerID = weather.ID
	tx.c.Metrics.put(&moved)
	assert.Equal(t, []string{"hits"}, names(tx.View().Metrics.Under(news.ID)))
	assert.Equal(t, []string{"hits", "bytes"}, names(tx.View().Metrics.Under(weather.ID)))
	assert.Equal(t, []string{"hits", "bytes"}, names(after.Metrics.Under(news.ID)), "nor is the earlier snapshot")
	assert.Equal(t, []string{"hits"}, names(after.Metrics.Under(weather.ID)))
	assert.Zero(t, tx.View().Metrics.CountUnder(12345), "no group: nothing")
}

// A table whose kind has no Parent hook is never read by parent.
func TestTableWithoutParentIndexRefusesUnder(t *testing.T) {
	c := New()
	assert.Panics(t, func() { c.Accounts.Under(1) })
}

// A limit names a metric of its plan's service or of a backend the service
// uses, checked without listing the service's metrics.
func TestLimitMetricMustBeTheServicesOrAUsedBackends(t *testing.T) {
	built(t, func(tx *Tx) {
		news, _ := createService(t, tx, "News", "1")
		_, otherHits := createService(t, tx, "Other", "1")
		plan := createPlan(t, tx, news.ID, "Basic", true)
		used, usedHits := createBackend(t, tx, "Used")
		_, unusedHits := createBackend(t, tx, "Unused")
		require.NoError(t, tx.Create(&BackendUsage{ServiceID: news.ID, BackendAPIID: used.ID, Path: "/"}))
		own := createMetric(t, tx, OwnerService, news.ID, 0, "Bytes")

		for _, m := range []*Metric{own, usedHits} {
			assert.NoError(t, tx.Create(&UsageLimit{PlanID: plan.ID, MetricID: m.ID, Period: "day", Value: 1}), m.SystemName)
		}
		for _, id := range []int64{otherHits.ID, unusedHits.ID, 999999} {
			var nf *NotFoundError
			assert.ErrorAs(t, tx.Create(&UsageLimit{PlanID: plan.ID, MetricID: id, Period: "day", Value: 1}), &nf, "metric %d", id)
			assert.ErrorAs(t, tx.Create(&PricingRule{PlanID: plan.ID, MetricID: id, Min: 1}), &nf, "metric %d", id)
		}
	})
}

// metricTaken reports whether m's system_name is taken in t.
func metricTaken(t *Table[*Metric], m *Metric) bool {
	return t.takenUnder(m, m.OwnerType+" "+m.SystemName)
}

// takenUnder counts a name among an entity's siblings, not the entity
// itself, through renames, deletes and copies on write.
func TestTableUniqueNamesAmongSiblings(t *testing.T) {
	var news *Service
	var bytes *Metric
	base := built(t, func(tx *Tx) {
		news, _ = createService(t, tx, "News", "1")
		bytes = createMetric(t, tx, OwnerService, news.ID, 0, "Bytes")
	})
	assert.False(t, metricTaken(&base.Metrics, bytes), "its own name")
	other := &Metric{ID: 9000, OwnerType: OwnerService, OwnerID: news.ID, SystemName: "bytes"}
	assert.True(t, metricTaken(&base.Metrics, other), "a sibling's")
	backendOne := &Metric{ID: 9000, OwnerType: OwnerBackendAPI, OwnerID: news.ID, SystemName: "bytes"}
	assert.False(t, metricTaken(&base.Metrics, backendOne), "the name is per owner type")

	tx := NewTx(base, testNow)
	tx.c.Metrics.put(other) // a duplicate, as an old store might hold
	assert.True(t, metricTaken(&tx.View().Metrics, bytes))
	assert.True(t, metricTaken(&tx.View().Metrics, other))
	assert.False(t, metricTaken(&base.Metrics, bytes), "the snapshot is untouched")
	renamed := *other
	renamed.SystemName = "octets"
	tx.c.Metrics.put(&renamed)
	assert.False(t, metricTaken(&tx.View().Metrics, bytes), "renamed away")
	assert.False(t, metricTaken(&tx.View().Metrics, &renamed))
	tx.c.Metrics.del(bytes.ID)
	assert.False(t, metricTaken(&tx.View().Metrics, other), "deleted")
	assert.True(t, metricTaken(&base.Metrics, other))
}

// Usernames and emails are unique across accounts, a user_key within a
// service, each checked against the others and not against itself.
func TestUniqueCredentialsAcrossTheirScope(t *testing.T) {
	built(t, func(tx *Tx) {
		acme, globex := createAccount(t, tx, "ACME"), createAccount(t, tx, "Globex")
		alice := &User{AccountID: acme.ID, Username: "alice", Email: "alice@example.com"}
		require.NoError(t, tx.Create(alice))
		requireField(t, tx.Create(&User{AccountID: globex.ID, Username: "alice", Email: "other@example.com"}), "username")
		requireField(t, tx.Create(&User{AccountID: globex.ID, Username: "bob", Email: "alice@example.com"}), "email")
		renamed := *alice
		renamed.Email = "alice@acme.example"
		require.NoError(t, tx.Update(&renamed), "its own username")
		require.NoError(t, tx.Create(&User{AccountID: globex.ID, Username: "carol", Email: "alice@example.com"}), "the email left")

		news, _ := createService(t, tx, "News", "1")
		weather, _ := createService(t, tx, "Weather", "1")
		newsPlan, weatherPlan := createPlan(t, tx, news.ID, "Basic", true), createPlan(t, tx, weather.ID, "Basic", true)
		require.NoError(t, tx.Create(&Application{AccountID: acme.ID, PlanID: newsPlan.ID, Name: "A", UserKey: "k1"}))
		requireField(t, tx.Create(&Application{AccountID: globex.ID, PlanID: newsPlan.ID, Name: "B", UserKey: "k1"}), "user_key")
		require.NoError(t, tx.Create(&Application{AccountID: globex.ID, PlanID: weatherPlan.ID, Name: "B", UserKey: "k1"}), "another service")
	})
}
