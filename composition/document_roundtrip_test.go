package composition

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func keepIDs[E Entity](in []E, set map[int64]bool) []E {
	var out []E
	for _, e := range in {
		if set[e.Key()] {
			out = append(out, e)
		}
	}
	return out
}

// subset keeps the entities of d whose ids are in set (proxies by their service's id).
func subset(d *Document, set map[int64]bool) *Document {
	out := *d
	out.Services, out.BackendAPIs, out.Metrics = keepIDs(d.Services, set), keepIDs(d.BackendAPIs, set), keepIDs(d.Metrics, set)
	out.MappingRules, out.BackendUsages = keepIDs(d.MappingRules, set), keepIDs(d.BackendUsages, set)
	out.ApplicationPlans, out.UsageLimits = keepIDs(d.ApplicationPlans, set), keepIDs(d.UsageLimits, set)
	out.PricingRules, out.Proxies, out.ProxyConfigs = keepIDs(d.PricingRules, set), keepIDs(d.Proxies, set), keepIDs(d.ProxyConfigs, set)
	out.ActiveDocs, out.Accounts, out.Users = keepIDs(d.ActiveDocs, set), keepIDs(d.Accounts, set), keepIDs(d.Users, set)
	out.Applications, out.RegistryPolicies = keepIDs(d.Applications, set), keepIDs(d.RegistryPolicies, set)
	out.Placements, out.AccessTokens = keepIDs(d.Placements, set), keepIDs(d.AccessTokens, set)
	out.FieldsDefs, out.NotificationPrefs = keepIDs(d.FieldsDefs, set), keepIDs(d.NotificationPrefs, set)
	return &out
}

func derefIDs(ids *[]int64) []int64 {
	if ids == nil {
		return nil
	}
	return *ids
}

// checkReferences asserts every reference in d names an entity of the right
// kind that d itself holds.
func checkReferences(t *testing.T, d *Document) {
	t.Helper()
	kindOf := map[int64]Kind{}
	for _, k := range Kinds {
		if k == KindProxy {
			continue
		}
		for _, e := range d.entities(k) {
			_, dup := kindOf[e.Key()]
			require.False(t, dup, "id %d used twice", e.Key())
			kindOf[e.Key()] = k
		}
	}
	ref := func(what string, id int64, want ...Kind) {
		t.Helper()
		got, ok := kindOf[id]
		if assert.True(t, ok, "%s refers to %d, which is not in the document", what, id) {
			assert.Contains(t, want, got, "%s refers to %d, a %s", what, id, got)
		}
	}
	owner := func(ownerType string) Kind {
		if ownerType == OwnerBackendAPI {
			return KindBackendAPI
		}
		return KindService
	}
	for _, m := range d.Metrics {
		ref("metric owner", m.OwnerID, owner(m.OwnerType))
		if m.ParentID != 0 {
			ref("metric parent", m.ParentID, KindMetric)
		}
	}
	for _, r := range d.MappingRules {
		ref("rule owner", r.OwnerID, owner(r.OwnerType))
		ref("rule metric", r.MetricID, KindMetric)
	}
	for _, u := range d.BackendUsages {
		ref("usage service", u.ServiceID, KindService)
		ref("usage backend", u.BackendAPIID, KindBackendAPI)
	}
	for _, p := range d.ApplicationPlans {
		ref("plan service", p.ServiceID, KindService)
	}
	for _, l := range d.UsageLimits {
		ref("limit plan", l.PlanID, KindApplicationPlan)
		ref("limit metric", l.MetricID, KindMetric)
	}
	for _, r := range d.PricingRules {
		ref("pricing plan", r.PlanID, KindApplicationPlan)
		ref("pricing metric", r.MetricID, KindMetric)
	}
	for _, p := range d.Proxies {
		ref("proxy service", p.ServiceID, KindService)
	}
	for _, p := range d.ProxyConfigs {
		ref("proxy config service", p.ServiceID, KindService)
	}
	for _, a := range d.ActiveDocs {
		if a.ServiceID != 0 {
			ref("active doc service", a.ServiceID, KindService)
		}
	}
	for _, u := range d.Users {
		if u.AccountID == ProviderAccountID {
			for _, id := range derefIDs(u.AllowedServiceIDs) {
				ref("provider user's allowed service", id, KindService)
			}
			continue
		}
		ref("user account", u.AccountID, KindAccount)
	}
	for _, p := range d.NotificationPrefs {
		ref("notification preferences user", p.UserID, KindUser)
	}
	for _, a := range d.Applications {
		ref("application account", a.AccountID, KindAccount)
		ref("application service", a.ServiceID, KindService)
		ref("application plan", a.PlanID, KindApplicationPlan)
	}
	for _, p := range d.ServicePlans {
		ref("service plan service", p.ServiceID, KindService)
	}
	for _, s := range d.ServiceContracts {
		ref("subscription account", s.AccountID, KindAccount)
		ref("subscription plan", s.PlanID, KindServicePlan)
		ref("subscription service", s.ServiceID, KindService)
	}
	for _, p := range d.Placements {
		ref("placement service", p.ServiceID, KindService)
		for _, id := range p.PlanIDs {
			ref("placement plan", id, KindApplicationPlan)
		}
	}
}

func TestExportImportRoundTrip(t *testing.T) {
	src := newTestHead()
	var secrets richSecrets
	mustUpdate(t, src, func(tx *Tx) error { secrets = buildRich(t, tx); return nil })
	exportedAt := testNow.Add(time.Hour)
	orig := Export(src.Snapshot(), true, exportedAt)
	assert.Equal(t, DocumentFormat, orig.Format)
	assert.True(t, orig.Secrets)
	assert.Equal(t, exportedAt, orig.Exported)
	assert.EqualValues(t, 1, orig.Revision)
	for _, k := range Kinds {
		assert.NotEmpty(t, orig.entities(k), "the rich composition has %s", k)
	}

	dst := newTestHead()
	mustUpdate(t, dst, func(tx *Tx) error { buildUnrelated(t, tx); return nil })
	before := dst.Snapshot()
	beforeJSON := snapshotJSON(t, before)

	var stats *ImportStats
	mustUpdate(t, dst, func(tx *Tx) error {
		var err error
		stats, err = Import(tx, reencode(t, orig))
		return err
	})
	after := dst.Snapshot()
	assert.EqualValues(t, 2, after.Revision)
	// All but the source's webhook outbox, which it delivers itself.
	carried := docEntityCount(orig) - len(orig.WebHookEvents)
	assert.Equal(t, before.Count()+carried, after.Count())
	assert.Equal(t, carried, stats.Entities)

	// Every id was remapped above what the target held already.
	imported := map[int64]bool{}
	for old, n := range stats.IDs {
		if old == ProviderAccountID {
			continue
		}
		assert.Greater(t, n, before.LastID, "old id %d", old)
		imported[n] = true
	}
	assert.Equal(t, carried-len(orig.Proxies), len(imported))
	assert.Equal(t, after.LastID, before.LastID+int64(len(imported)))

	// The unrelated entities are untouched.
	assert.Equal(t, beforeJSON, snapshotJSON(t, before))
	for _, k := range Kinds {
		before.Each(k, func(e Entity) {
			n, ok := after.table(k).getEntity(e.Key())
			if assert.True(t, ok, "%s %d is gone", k, e.Key()) {
				assert.Same(t, e, n, "%s %d was rewritten", k, e.Key())
			}
		})
	}
	full := Export(after, true, exportedAt)
	assert.Equal(t, before.Count(), docEntityCount(full)-carried)

	got := subset(full, imported)
	want := docCounts(orig)
	want[KindWebHookEvent] = 0
	assert.Equal(t, want, docCounts(got))
	checkReferences(t, got)

	wantCanon, err := orig.Canonical()
	require.NoError(t, err)
	gotCanon, err := got.Canonical()
	require.NoError(t, err)
	require.Equal(t, wantCanon, gotCanon)

	// Spot checks through the id map: credentials and fields travelled as they were.
	for _, a := range orig.Applications {
		n, ok := after.Applications.Get(stats.IDs[a.ID])
		require.True(t, ok)
		assert.Equal(t, a.Name, n.Name)
		assert.Equal(t, a.UserKey, n.UserKey)
		assert.Equal(t, a.AppID, n.AppID)
		assert.Equal(t, a.AppKeys, n.AppKeys)
		assert.Equal(t, stats.IDs[a.PlanID], n.PlanID)
		assert.Equal(t, stats.IDs[a.ServiceID], n.ServiceID)
	}
	for _, p := range orig.Proxies {
		n, ok := after.Proxies.Get(stats.IDs[p.ServiceID])
		require.True(t, ok)
		assert.Equal(t, p.SecretToken, n.SecretToken)
		assert.Equal(t, p.Endpoint, n.Endpoint)
		assert.Len(t, n.PolicyChain, len(p.PolicyChain))
	}
	assert.Contains(t, secrets.secretTokens, orig.Proxies[0].SecretToken)

	// Importing the same document again collides on system names: the import
	// is validated against what the composition holds.
	_, err = dst.Update(context.Background(), func(tx *Tx) error {
		_, err := Import(tx, reencode(t, orig))
		return err
	})
	requireField(t, err, "system_name")
	assert.Contains(t, err.Error(), "import services")
	assert.Same(t, after, dst.Snapshot())
}

// A document rebuilds the composition it came from, ids and revision kept.
func TestDocumentCompositionKeepsIDs(t *testing.T) {
	h := newTestHead()
	s := mustUpdate(t, h, func(tx *Tx) error {
		svc, hits := createService(t, tx, "News", "1")
		createRule(t, tx, OwnerService, svc.ID, hits.ID, "GET", "/a", 1, 0, false)
		createPlan(t, tx, svc.ID, "Basic", true)
		return nil
	})
	c, err := Export(s, true, testNow).Composition()
	require.NoError(t, err)
	assert.Equal(t, s.Revision, c.Revision)
	assert.Equal(t, s.LastID, c.LastID)
	assert.Equal(t, Export(s, true, testNow), Export(c, true, testNow))
	_, err = (&Document{Format: "x"}).Composition()
	requireField(t, err, "format")
}
