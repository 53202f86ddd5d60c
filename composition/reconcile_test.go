package composition

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// countingHead is a head that counts the revisions it persists.
type countingHead struct {
	*Head
	persisted int
}

func newCountingHead(t testing.TB, initial *Composition) *countingHead {
	t.Helper()
	h := &countingHead{}
	initial.Seal()
	h.Head = NewHead(initial, func(context.Context, []Change, *Composition) error { h.persisted++; return nil },
		func() time.Time { return testNow })
	return h
}

// built returns the composition fn builds from empty.
func built(t testing.TB, fn func(tx *Tx)) *Composition {
	t.Helper()
	tx := NewTx(New(), testNow)
	fn(tx)
	return tx.Result()
}

// richComposition is buildRich's composition, with buildUnrelated's too when
// unrelated is set.
func richComposition(t testing.TB, unrelated bool) *Composition {
	return built(t, func(tx *Tx) {
		buildRich(t, tx)
		if unrelated {
			buildUnrelated(t, tx)
		}
	})
}

// renumbered returns a copy of c, secrets and all, whose entities have other
// ids: a desired composition as documents would build it.
func renumbered(t testing.TB, c *Composition) *Composition {
	t.Helper()
	base := New()
	base.LastID = 5000
	tx := NewTx(base, testNow)
	_, err := Import(tx, Export(c, true, testNow))
	require.NoError(t, err)
	return tx.Result()
}

// edited returns a copy of c that fn changed.
func edited(t testing.TB, c *Composition, fn func(tx *Tx)) *Composition {
	t.Helper()
	tx := NewTx(c, testNow)
	fn(tx)
	return tx.Result()
}

// byKey returns the entity of c with natural key key.
func byKey[E Entity](t testing.TB, c *Composition, key string) E {
	t.Helper()
	e, ok := newKeyIndex(c).entity(key)
	require.True(t, ok, "no entity %q", key)
	return e.(E)
}

// planSummary lists a plan's changes as "op kind key".
func planSummary(p *Plan) []string {
	out := []string{}
	for _, ch := range p.Changes {
		out = append(out, string(ch.Op)+" "+string(ch.Kind)+" "+ch.Key)
	}
	return out
}

// managedCounts counts the managed entities of c by kind.
func managedCounts(c *Composition) map[Kind]int {
	x := newKeyIndex(c)
	out := map[Kind]int{}
	for _, ck := range x.ids {
		out[ck.kind]++
	}
	return out
}

func TestReconcileCreatesFromEmptyThenReappliesNothing(t *testing.T) {
	for _, secrets := range []bool{false, true} {
		t.Run(map[bool]string{false: "without secrets", true: "with secrets"}[secrets], func(t *testing.T) {
			desired := renumbered(t, richComposition(t, false))
			h := newCountingHead(t, New())
			opts := DiffOptions{Secrets: secrets}

			var first *Plan
			snap := mustUpdate(t, h.Head, func(tx *Tx) error {
				var err error
				first, err = Reconcile(tx, desired, opts)
				return err
			})
			require.Equal(t, 1, h.persisted, "the first apply is one revision")
			assert.Equal(t, managedCounts(desired), managedCounts(snap), "every managed entity is created")
			for _, ch := range first.Changes {
				require.Equal(t, OpCreate, ch.Op, "%s %s", ch.Kind, ch.Key)
			}

			again, err := Diff(snap, desired, opts)
			require.NoError(t, err)
			require.Empty(t, planSummary(again), "a re-apply changes nothing: %+v", again.Changes)
			snap2 := mustUpdate(t, h.Head, func(tx *Tx) error {
				p, err := Reconcile(tx, desired, DiffOptions{Prune: true, Secrets: secrets})
				require.True(t, p.Empty())
				return err
			})
			assert.Equal(t, 1, h.persisted, "a re-apply makes no revision")
			assert.Same(t, snap, snap2)
		})
	}
}

func TestReconcileRemapsReferencesThroughKeys(t *testing.T) {
	desired := renumbered(t, richComposition(t, false))
	// The target already holds unrelated entities, so no id can line up.
	h := newCountingHead(t, built(t, func(tx *Tx) { buildUnrelated(t, tx) }))
	snap := mustUpdate(t, h.Head, func(tx *Tx) error { _, err := Reconcile(tx, desired, DiffOptions{}); return err })

	rule := byKey[*MappingRule](t, snap, "service:news_api/mapping_rule:GET /news$ metric:get_news")
	metric, ok := snap.Metrics.Get(rule.MetricID)
	require.True(t, ok)
	assert.Equal(t, "get_news", metric.SystemName)
	news := byKey[*Service](t, snap, "service:news_api")
	assert.Equal(t, news.ID, metric.OwnerID)
	hits, _ := snap.Hits(OwnerService, news.ID)
	assert.Equal(t, hits.ID, metric.ParentID, "a method's parent is its service's hits")

	limit := byKey[*UsageLimit](t, snap, "service:news_api/plan:basic/limit:backend:articles_backend/metric:hits@month")
	backend := byKey[*BackendAPI](t, snap, "backend:articles_backend")
	backendHits, _ := snap.Hits(OwnerBackendAPI, backend.ID)
	assert.Equal(t, backendHits.ID, limit.MetricID, "a limit on a used backend's metric")
	assert.Equal(t, int64(50000), limit.Value)

	app := byKey[*Application](t, snap, "account:ACME/application:ACME reader@service:news_api")
	plan := byKey[*ApplicationPlan](t, snap, "service:news_api/plan:basic")
	assert.Equal(t, plan.ID, app.PlanID)
	assert.Equal(t, news.ID, app.ServiceID)
	assert.NotEmpty(t, app.UserKey, "without secrets the home makes new credentials")

	placement := byKey[*Placement](t, snap, "placement:gold pool")
	gold := byKey[*ApplicationPlan](t, snap, "service:news_api/plan:gold")
	assert.Equal(t, []int64{gold.ID}, placement.PlanIDs)
	px := byKey[*Proxy](t, snap, "service:news_api/proxy")
	assert.Equal(t, "https://news.example.com", px.Endpoint, "the proxy made with its service takes the desired settings")
	assert.Equal(t, "headers", px.PolicyChain[0].Name)
}

func TestReconcileUpdatesFieldByField(t *testing.T) {
	current := richComposition(t, true)
	const limitKey = "service:news_api/plan:basic/limit:service:news_api/metric:hits@day"
	const planKey = "service:news_api/plan:gold"
	tests := []struct {
		name string
		edit func(tx *Tx)
		want []PlannedChange
	}{{
		name: "one limit's value",
		edit: func(tx *Tx) {
			l := *byKey[*UsageLimit](t, tx.View(), limitKey)
			l.Value = 2000
			require.NoError(t, tx.Update(&l))
		},
		want: []PlannedChange{{Kind: KindUsageLimit, Key: limitKey, Op: OpUpdate,
			Fields: []FieldChange{{Field: "value", Old: json.RawMessage(`1000`), New: json.RawMessage(`2000`)}}}},
	}, {
		name: "two fields of a plan",
		edit: func(tx *Tx) {
			p := *byKey[*ApplicationPlan](t, tx.View(), planKey)
			p.CostPerMonth, p.Name = "120", "Golden"
			require.NoError(t, tx.Update(&p))
		},
		want: []PlannedChange{{Kind: KindApplicationPlan, Key: planKey, Op: OpUpdate, Fields: []FieldChange{
			{Field: "cost_per_month", Old: json.RawMessage(`99.5`), New: json.RawMessage(`120.0`)},
			{Field: "name", Old: json.RawMessage(`"Gold"`), New: json.RawMessage(`"Golden"`)},
		}}},
	}, {
		name: "a placement's plans, shown by key",
		edit: func(tx *Tx) {
			p := *byKey[*Placement](t, tx.View(), "placement:gold pool")
			p.PlanIDs = []int64{byKey[*ApplicationPlan](t, tx.View(), "service:news_api/plan:basic").ID}
			require.NoError(t, tx.Update(&p))
		},
		want: []PlannedChange{{Kind: KindPlacement, Key: "placement:gold pool", Op: OpUpdate, Fields: []FieldChange{
			{Field: "plan_ids", Old: json.RawMessage(`["service:news_api/plan:gold"]`), New: json.RawMessage(`["service:news_api/plan:basic"]`)},
		}}},
	}, {
		name: "a feature's plans, which an API update keeps",
		edit: func(tx *Tx) {
			f := byKey[*Feature](t, tx.View(), "service:news_api/feature:sla")
			_, err := tx.EnableFeature(f.ID, byKey[*ApplicationPlan](t, tx.View(), "service:news_api/plan:basic").ID)
			require.NoError(t, err)
		},
		want: []PlannedChange{{Kind: KindFeature, Key: "service:news_api/feature:sla", Op: OpUpdate, Fields: []FieldChange{
			{Field: "plan_ids", Old: json.RawMessage(`["service:news_api/plan:gold"]`),
				New: json.RawMessage(`["service:news_api/plan:gold","service:news_api/plan:basic"]`)},
		}}},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			desired := renumbered(t, edited(t, current, tc.edit))
			p, err := Diff(current, desired, DiffOptions{Prune: true})
			require.NoError(t, err)
			for i := range p.Changes {
				p.Changes[i].desired = nil
			}
			assert.Equal(t, tc.want, p.Changes)

			h := newCountingHead(t, current)
			snap := mustUpdate(t, h.Head, func(tx *Tx) error { return tx.Apply(p0(t, current, desired)) })
			after, err := Diff(snap, desired, DiffOptions{Prune: true})
			require.NoError(t, err)
			assert.Empty(t, planSummary(after), "applied, the plan is empty")
			assert.Equal(t, 1, h.persisted)
		})
	}
}

// p0 is Diff's plan, with pruning, that the test requires to succeed.
func p0(t testing.TB, current, desired *Composition) *Plan {
	t.Helper()
	p, err := Diff(current, desired, DiffOptions{Prune: true})
	require.NoError(t, err)
	return p
}

func TestReconcileMovesALimitBetweenPlans(t *testing.T) {
	current := richComposition(t, false)
	const from = "service:news_api/plan:gold/limit:service:news_api/metric:get_news@minute"
	const to = "service:news_api/plan:basic/limit:service:news_api/metric:get_news@minute"
	desired := renumbered(t, edited(t, current, func(tx *Tx) {
		l := *byKey[*UsageLimit](t, tx.View(), from)
		require.NoError(t, tx.Delete(KindUsageLimit, l.ID))
		l.PlanID = byKey[*ApplicationPlan](t, tx.View(), "service:news_api/plan:basic").ID
		require.NoError(t, tx.Create(&l))
	}))

	kept, err := Diff(current, desired, DiffOptions{})
	require.NoError(t, err)
	assert.Equal(t, []string{"create usage_limits " + to}, planSummary(kept), "without prune nothing is deleted")

	moved, err := Diff(current, desired, DiffOptions{Prune: true})
	require.NoError(t, err)
	assert.Equal(t, []string{"delete usage_limits " + from, "create usage_limits " + to}, planSummary(moved))

	h := newCountingHead(t, current)
	snap := mustUpdate(t, h.Head, func(tx *Tx) error { return tx.Apply(moved) })
	l := byKey[*UsageLimit](t, snap, to)
	assert.Equal(t, int64(60), l.Value)
	_, ok := newKeyIndex(snap).entity(from)
	assert.False(t, ok, "the limit left the gold plan")
}

func TestReconcilePruneDeletesOnlyOwnedEntities(t *testing.T) {
	current := richComposition(t, true)
	desired := renumbered(t, edited(t, current, func(tx *Tx) {
		c := tx.View()
		// Dropped from the documents: one of news' rules, weather's plan
		// (with its limit and its application) and a backend's method.
		require.NoError(t, tx.Delete(KindMappingRule, byKey[*MappingRule](t, c, "service:news_api/mapping_rule:POST /news?lang={lang} metric:bytes").ID))
		require.NoError(t, tx.Delete(KindApplication, byKey[*Application](t, c, "account:ACME/application:ACME weather@service:weather_api").ID))
		require.NoError(t, tx.Delete(KindApplicationPlan, byKey[*ApplicationPlan](t, c, "service:weather_api/plan:free").ID))
		require.NoError(t, tx.Delete(KindPlacement, byKey[*Placement](t, c, "placement:gold pool").ID))
		// Not the documents' to say: another service and an account.
		require.NoError(t, tx.Delete(KindService, byKey[*Service](t, c, "service:legacy").ID))
		require.NoError(t, tx.Delete(KindAccount, byKey[*Account](t, c, "account:Globex").ID))
	}))

	p, err := Diff(current, desired, DiffOptions{Prune: true})
	require.NoError(t, err)
	assert.Equal(t, []string{
		"delete placements placement:gold pool",
		"delete usage_limits service:weather_api/plan:free/limit:service:weather_api/metric:hits@eternity",
		"delete application_plans service:weather_api/plan:free",
		"delete mapping_rules service:news_api/mapping_rule:POST /news?lang={lang} metric:bytes",
	}, planSummary(p))

	h := newCountingHead(t, current)
	_, err = h.Update(context.Background(), func(tx *Tx) error { return tx.Apply(p) })
	require.Error(t, err, "a plan with applications cannot be deleted")
	assert.Contains(t, err.Error(), "application_plans service:weather_api/plan:free")
	assert.Contains(t, err.Error(), "has applications")
	assert.Zero(t, h.persisted, "a refused apply writes nothing")

	// Owned by news only, the weather plan stays.
	p, err = Diff(current, desired, DiffOptions{Prune: true, Owners: []string{"service:news_api"}})
	require.NoError(t, err)
	snap := mustUpdate(t, h.Head, func(tx *Tx) error { return tx.Apply(p) })
	assert.Equal(t, []string{
		"delete placements placement:gold pool",
		"delete mapping_rules service:news_api/mapping_rule:POST /news?lang={lang} metric:bytes",
	}, planSummary(p))
	_, ok := newKeyIndex(snap).entity("placement:gold pool")
	assert.False(t, ok, "the news placement is pruned")
	for _, key := range []string{"service:legacy", "account:Globex", "account:Globex/application:Globex feed@service:news_api", "service:weather_api/plan:free"} {
		_, ok := newKeyIndex(snap).entity(key)
		assert.True(t, ok, "%s is not pruned", key)
	}
}

func TestReconcilePruneWithOwnedFunc(t *testing.T) {
	current := richComposition(t, true)
	desired := renumbered(t, edited(t, current, func(tx *Tx) {
		require.NoError(t, tx.Delete(KindService, byKey[*Service](t, tx.View(), "service:legacy").ID))
	}))
	p, err := Diff(current, desired, DiffOptions{Prune: true, Owned: func(key string) bool { return key == "service:legacy" }})
	require.NoError(t, err)
	assert.Equal(t, []string{"delete services service:legacy"}, planSummary(p))
	h := newCountingHead(t, current)
	snap := mustUpdate(t, h.Head, func(tx *Tx) error { return tx.Apply(p) })
	_, ok := snap.ServiceBySystemName("legacy")
	assert.False(t, ok)
	assert.Zero(t, snap.MappingRules.Count(func(r *MappingRule) bool { return r.Pattern == "/legacy" }), "the service's cascade took its rules")
}

func TestReconcileRefusesInvalidDesired(t *testing.T) {
	current := richComposition(t, false)
	t.Run("limit on a metric the composition does not hold", func(t *testing.T) {
		desired := renumbered(t, current)
		plan := byKey[*ApplicationPlan](t, desired, "service:news_api/plan:basic")
		desired.Restore(KindUsageLimit, &UsageLimit{ID: 99999, PlanID: plan.ID, MetricID: 424242, Period: "day", Value: 1})
		_, err := Diff(current, desired, DiffOptions{})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "usage_limits 99999")
		requireField(t, err, "metric_id")
	})
	t.Run("limit on a metric the plan's service cannot count", func(t *testing.T) {
		desired := renumbered(t, current)
		plan := byKey[*ApplicationPlan](t, desired, "service:weather_api/plan:free")
		hits := byKey[*Metric](t, desired, "backend:articles_backend/metric:hits")
		desired.Restore(KindUsageLimit, &UsageLimit{ID: 99999, PlanID: plan.ID, MetricID: hits.ID, Period: "day", Value: 1})
		h := newCountingHead(t, current)
		_, err := h.Update(context.Background(), func(tx *Tx) error { _, err := Reconcile(tx, desired, DiffOptions{}); return err })
		require.Error(t, err)
		assert.Contains(t, err.Error(), "create usage_limits service:weather_api/plan:free/limit:backend:articles_backend/metric:hits@day")
		assert.Zero(t, h.persisted, "nothing is written")
		assert.Same(t, current, h.Snapshot())
	})
	t.Run("invalid field", func(t *testing.T) {
		desired := renumbered(t, current)
		l := *byKey[*UsageLimit](t, desired, "service:news_api/plan:basic/limit:service:news_api/metric:hits@day")
		l.Value = -1
		desired.Restore(KindUsageLimit, &l)
		h := newCountingHead(t, current)
		_, err := h.Update(context.Background(), func(tx *Tx) error { _, err := Reconcile(tx, desired, DiffOptions{}); return err })
		assert.Contains(t, err.Error(), "update usage_limits service:news_api/plan:basic/limit:service:news_api/metric:hits@day")
		requireField(t, err, "value")
		assert.Zero(t, h.persisted)
	})
}

func TestDiffOfAnExportedCopyIsEmpty(t *testing.T) {
	current := richComposition(t, true)
	for _, secrets := range []bool{false, true} {
		p, err := Diff(current, renumbered(t, current), DiffOptions{Prune: true, Secrets: secrets})
		require.NoError(t, err)
		assert.Empty(t, planSummary(p), "secrets %v", secrets)
	}
}

func TestDiffComparesSecretsOnlyWhenAsked(t *testing.T) {
	current := richComposition(t, false)
	const key = "service:news_api/proxy"
	desired := renumbered(t, edited(t, current, func(tx *Tx) {
		px := *byKey[*Proxy](t, tx.View(), key)
		px.SecretToken = "rotated"
		require.NoError(t, tx.Update(&px))
	}))
	p, err := Diff(current, desired, DiffOptions{})
	require.NoError(t, err)
	assert.Empty(t, planSummary(p))
	p, err = Diff(current, desired, DiffOptions{Secrets: true})
	require.NoError(t, err)
	require.Equal(t, []string{"update proxies " + key}, planSummary(p))
	assert.Equal(t, "secret_token", p.Changes[0].Fields[0].Field, "lock_version is derived: %+v", p.Changes[0].Fields)
	require.Len(t, p.Changes[0].Fields, 1)
}

func TestNaturalKeysOfDuplicatesTakeOrdinals(t *testing.T) {
	c := built(t, func(tx *Tx) {
		svc, hits := createService(t, tx, "Dup", "1")
		createRule(t, tx, OwnerService, svc.ID, hits.ID, "GET", "/x", 1, 0, false)
		createRule(t, tx, OwnerService, svc.ID, hits.ID, "GET", "/x", 1, 0, false)
	})
	x := newKeyIndex(c)
	_, one := x.ids["service:dup/mapping_rule:GET /x metric:hits"]
	_, two := x.ids["service:dup/mapping_rule:GET /x metric:hits#2"]
	assert.True(t, one && two, "keys: %v", x.ids)
	p, err := Diff(c, renumbered(t, c), DiffOptions{Prune: true})
	require.NoError(t, err)
	assert.Empty(t, planSummary(p))
}

func TestReconcilePruneOfAWholeServiceLeavesItsChildrenToTheCascade(t *testing.T) {
	current := richComposition(t, true)
	desired := renumbered(t, edited(t, current, func(tx *Tx) {
		require.NoError(t, tx.Delete(KindService, byKey[*Service](t, tx.View(), "service:legacy").ID))
	}))
	p, err := Diff(current, desired, DiffOptions{Prune: true, Owners: []string{"service:legacy"}})
	require.NoError(t, err)
	assert.Equal(t, []string{
		"delete placements placement:legacy",
		"delete application_plans service:legacy/plan:legacy_plan",
		"delete mapping_rules service:legacy/mapping_rule:GET /legacy metric:hits",
		"delete metrics service:legacy/metric:hits",
		"delete services service:legacy",
	}, planSummary(p), "children before parents; the proxy goes with its service")

	h := newCountingHead(t, current)
	snap := mustUpdate(t, h.Head, func(tx *Tx) error { return tx.Apply(p) })
	_, ok := snap.ServiceBySystemName("legacy")
	assert.False(t, ok)
	assert.Equal(t, 7, current.Count()-snap.Count(), "the service, hits, rule, plan, proxy, placement and application go")
	_, ok = newKeyIndex(snap).entity("account:Legacy Org")
	assert.True(t, ok, "the account stays")
}
