package composition

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// What 3scale writes alongside a create, and what a delete refuses or takes.

func TestCreateServiceMakesHitsAndDefaultProxy(t *testing.T) {
	tx := NewTx(New(), testNow)
	svc := &Service{Name: "News API"}
	require.NoError(t, tx.Create(svc))
	c := tx.View()

	assert.Greater(t, svc.ID, ProviderAccountID)
	assert.Equal(t, ProviderAccountID, svc.AccountID)
	assert.Equal(t, "news_api", svc.SystemName)
	assert.Equal(t, "1", svc.BackendVersion)
	assert.Equal(t, "hosted", svc.DeploymentOption)
	assert.Equal(t, testNow, svc.CreatedAt)
	assert.Equal(t, testNow, svc.UpdatedAt)

	hits, ok := c.Hits(OwnerService, svc.ID)
	require.True(t, ok)
	assert.Equal(t, "hits", hits.SystemName)
	assert.Equal(t, "hits", hits.Name)
	assert.Equal(t, "hit", hits.Unit)
	assert.Equal(t, OwnerService, hits.OwnerType)
	assert.False(t, hits.IsMethod())
	assert.Len(t, c.MetricsOf(OwnerService, svc.ID), 1)

	px, ok := c.Proxies.Get(svc.ID)
	require.True(t, ok, "a new service has a proxy")
	assert.Equal(t, svc.ID, px.ServiceID)
	assert.Equal(t, CredentialsQuery, px.CredentialsLocation)
	assert.Equal(t, "user_key", px.AuthUserKey)
	assert.Equal(t, "app_id", px.AuthAppID)
	assert.Equal(t, "app_key", px.AuthAppKey)
	assert.EqualValues(t, 403, px.ErrorStatusAuthFailed)
	assert.EqualValues(t, 404, px.ErrorStatusNoMatch)
	assert.EqualValues(t, 429, px.ErrorStatusLimitsExceeded)
	assert.NotEmpty(t, px.SecretToken)
	require.Len(t, px.PolicyChain, 1)
	assert.Equal(t, "apicast", px.PolicyChain[0].Name)

	kinds := map[Kind]int{}
	for _, ch := range tx.Changes() {
		require.NotNil(t, ch.Entity)
		kinds[ch.Kind]++
	}
	assert.Equal(t, map[Kind]int{KindService: 1, KindMetric: 1, KindProxy: 1}, kinds)

	// A backend API gets its own hits metric too.
	b, bh := createBackend(t, tx, "Widgets Backend")
	assert.Equal(t, "widgets_backend", b.SystemName)
	assert.Equal(t, "hit", bh.Unit)
	assert.Equal(t, b.ID, bh.OwnerID)
}

func TestHitsCannotBeDeleted(t *testing.T) {
	tx := NewTx(New(), testNow)
	svc, hits := createService(t, tx, "Svc", "1")
	method := createMetric(t, tx, OwnerService, svc.ID, hits.ID, "Get")
	rule := createRule(t, tx, OwnerService, svc.ID, method.ID, "GET", "/get", 1, 0, false)
	n := len(tx.Changes())

	err := tx.Delete(KindMetric, hits.ID)
	requireField(t, err, "system_name")
	_, ok := tx.View().Metrics.Get(hits.ID)
	assert.True(t, ok)
	assert.Len(t, tx.Changes(), n, "a refused delete records nothing")

	// A backend API's hits cannot be deleted either.
	_, bh := createBackend(t, tx, "Backend")
	requireField(t, tx.Delete(KindMetric, bh.ID), "system_name")

	// A method can be deleted; its mapping rules go with it.
	require.NoError(t, tx.Delete(KindMetric, method.ID))
	_, ok = tx.View().Metrics.Get(method.ID)
	assert.False(t, ok)
	_, ok = tx.View().MappingRules.Get(rule.ID)
	assert.False(t, ok)

	requireNotFound(t, tx.Delete(KindMetric, method.ID), KindMetric)
}

func TestDeletePlanWithApplicationsRefused(t *testing.T) {
	tx := NewTx(New(), testNow)
	svc, hits := createService(t, tx, "Svc", "1")
	acc := createAccount(t, tx, "ACME")
	plan := createPlan(t, tx, svc.ID, "Basic", true)
	keep := createPlan(t, tx, svc.ID, "Keep", false)
	limit := &UsageLimit{PlanID: plan.ID, MetricID: hits.ID, Period: "day", Value: 10}
	require.NoError(t, tx.Create(limit))
	price := &PricingRule{PlanID: plan.ID, MetricID: hits.ID, CostPerUnit: "0.1", Min: 1}
	require.NoError(t, tx.Create(price))
	pl := &Placement{Selector: Selector{Service: "news"}, ServiceID: svc.ID, PlanIDs: []int64{plan.ID, keep.ID}}
	require.NoError(t, tx.Create(pl))
	app := createApp(t, tx, acc.ID, plan.ID, "app")

	err := tx.Delete(KindApplicationPlan, plan.ID)
	requireField(t, err, "base")
	_, ok := tx.View().ApplicationPlans.Get(plan.ID)
	assert.True(t, ok)

	require.NoError(t, tx.Delete(KindApplication, app.ID))
	require.NoError(t, tx.Delete(KindApplicationPlan, plan.ID))
	c := tx.View()
	_, ok = c.ApplicationPlans.Get(plan.ID)
	assert.False(t, ok)
	_, ok = c.UsageLimits.Get(limit.ID)
	assert.False(t, ok, "limits go with their plan")
	_, ok = c.PricingRules.Get(price.ID)
	assert.False(t, ok, "pricing rules go with their plan")
	gotPl, ok := c.Placements.Get(pl.ID)
	require.True(t, ok, "the placement stays")
	assert.Equal(t, []int64{keep.ID}, gotPl.PlanIDs, "the deleted plan leaves the placement")
	assert.Equal(t, []int64{plan.ID, keep.ID}, pl.PlanIDs, "the placement is changed on a copy")

	// The proxy is deleted with its service only.
	requireField(t, tx.Delete(KindProxy, svc.ID), "base")
}

func TestDeleteServiceCascades(t *testing.T) {
	base := NewTx(New(), testNow)
	svc, hits := createService(t, base, "Doomed", "2")
	method := createMetric(t, base, OwnerService, svc.ID, hits.ID, "Get")
	bytes := createMetric(t, base, OwnerService, svc.ID, 0, "Bytes")
	r1 := createRule(t, base, OwnerService, svc.ID, method.ID, "GET", "/a", 1, 0, false)
	r2 := createRule(t, base, OwnerService, svc.ID, bytes.ID, "POST", "/b", 5, 0, false)
	backend, bHits := createBackend(t, base, "Shared backend")
	bRule := createRule(t, base, OwnerBackendAPI, backend.ID, bHits.ID, "GET", "/x", 1, 0, false)
	usage := &BackendUsage{ServiceID: svc.ID, BackendAPIID: backend.ID, Path: "/v2"}
	require.NoError(t, base.Create(usage))
	p1 := createPlan(t, base, svc.ID, "Gold", true)
	p2 := createPlan(t, base, svc.ID, "Silver", false)
	l1 := &UsageLimit{PlanID: p1.ID, MetricID: hits.ID, Period: "day", Value: 100}
	l2 := &UsageLimit{PlanID: p2.ID, MetricID: bHits.ID, Period: "month", Value: 100} // a limit on a backend metric
	pr := &PricingRule{PlanID: p1.ID, MetricID: bytes.ID, CostPerUnit: "0.01", Min: 1}
	for _, e := range []Entity{l1, l2, pr} {
		require.NoError(t, base.Create(e))
	}
	acc := createAccount(t, base, "ACME")
	user := &User{AccountID: acc.ID, Username: "alice", Email: "alice@example.com"}
	require.NoError(t, base.Create(user))
	app1 := createApp(t, base, acc.ID, p1.ID, "a1")
	app2 := createApp(t, base, acc.ID, p2.ID, "a2")
	pc := &ProxyConfig{ServiceID: svc.ID, Environment: EnvSandbox, Version: 1, Content: json.RawMessage(`{"x":1}`)}
	require.NoError(t, base.Create(pc))
	boundDoc := &ActiveDoc{ServiceID: svc.ID, Name: "Doomed spec", Body: `{"openapi":"3.0.0"}`}
	freeDoc := &ActiveDoc{Name: "Free spec", Body: `{"swagger":"2.0"}`}
	require.NoError(t, base.Create(boundDoc))
	require.NoError(t, base.Create(freeDoc))
	pl := &Placement{Selector: Selector{Service: "doomed"}, ServiceID: svc.ID, PlanIDs: []int64{p1.ID}}
	require.NoError(t, base.Create(pl))

	// A second service that shares the backend and the account must survive intact.
	keep, keepHits := createService(t, base, "Survivor", "1")
	keepRule := createRule(t, base, OwnerService, keep.ID, keepHits.ID, "GET", "/", 1, 0, false)
	require.NoError(t, base.Create(&BackendUsage{ServiceID: keep.ID, BackendAPIID: backend.ID, Path: "/"}))
	keepPlan := createPlan(t, base, keep.ID, "Basic", true)
	keepApp := createApp(t, base, acc.ID, keepPlan.ID, "k")
	keepPl := &Placement{Selector: Selector{Service: "survivor"}, ServiceID: keep.ID}
	require.NoError(t, base.Create(keepPl))
	before := base.Result()

	later := testNow.Add(time.Hour)
	tx := NewTx(before, later)
	require.NoError(t, tx.Delete(KindService, svc.ID))
	c := tx.View()

	gone := map[Kind][]int64{
		KindService:         {svc.ID},
		KindMetric:          {hits.ID, method.ID, bytes.ID},
		KindMappingRule:     {r1.ID, r2.ID},
		KindBackendUsage:    {usage.ID},
		KindApplicationPlan: {p1.ID, p2.ID},
		KindUsageLimit:      {l1.ID, l2.ID},
		KindPricingRule:     {pr.ID},
		KindApplication:     {app1.ID, app2.ID},
		KindProxy:           {svc.ID},
		KindProxyConfig:     {pc.ID},
		KindPlacement:       {pl.ID},
	}
	deleted := map[changeKey]bool{}
	for _, ch := range tx.Changes() {
		if ch.Entity == nil {
			deleted[changeKey{ch.Kind, ch.ID}] = true
		}
	}
	for k, ids := range gone {
		for _, id := range ids {
			_, ok := c.table(k).getEntity(id)
			assert.False(t, ok, "%s %d should be gone", k, id)
			assert.True(t, deleted[changeKey{k, id}], "%s %d should be recorded as deleted", k, id)
		}
	}
	assert.Len(t, deleted, 17, "exactly the service's entities are deleted")
	assert.Empty(t, c.MetricsOf(OwnerService, svc.ID))
	assert.Empty(t, c.MappingRulesOf(OwnerService, svc.ID))
	assert.Empty(t, c.PlansOf(svc.ID))

	doc, ok := c.ActiveDocs.Get(boundDoc.ID)
	require.True(t, ok, "active docs outlive their service")
	assert.Zero(t, doc.ServiceID, "and are unbound from it")
	assert.Equal(t, later, doc.UpdatedAt)
	assert.Equal(t, svc.ID, boundDoc.ServiceID, "the unbind is made on a copy")
	free, _ := c.ActiveDocs.Get(freeDoc.ID)
	assert.Same(t, freeDoc, free, "an unbound doc is untouched")

	for k, id := range map[Kind]int64{
		KindBackendAPI: backend.ID, KindMetric: bHits.ID, KindMappingRule: bRule.ID,
		KindAccount: acc.ID, KindUser: user.ID,
		KindService: keep.ID, KindProxy: keep.ID, KindApplicationPlan: keepPlan.ID,
		KindApplication: keepApp.ID, KindPlacement: keepPl.ID,
	} {
		_, ok := c.table(k).getEntity(id)
		assert.True(t, ok, "%s %d should survive", k, id)
	}
	_, ok = c.MappingRules.Get(keepRule.ID)
	assert.True(t, ok)
	_, ok = c.Hits(OwnerService, keep.ID)
	assert.True(t, ok)

	// The base composition is untouched.
	_, ok = before.Services.Get(svc.ID)
	assert.True(t, ok)
	assert.Len(t, before.MetricsOf(OwnerService, svc.ID), 3)
	assert.Len(t, before.PlansOf(svc.ID), 2)
	bd, _ := before.ActiveDocs.Get(boundDoc.ID)
	assert.Equal(t, svc.ID, bd.ServiceID)
}
