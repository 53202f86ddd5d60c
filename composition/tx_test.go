package composition

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Shared helpers for the package's tests (tx, matcher, document, store, bench).

var testNow = time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)

func nopPersist(context.Context, []Change, *Composition) error { return nil }

// newTestHead returns an in-memory head at revision 0 whose writes never fail to persist.
func newTestHead() *Head {
	return NewHead(New(), nopPersist, func() time.Time { return testNow })
}

// mustUpdate runs fn as one write on h and fails the test if it fails.
func mustUpdate(t testing.TB, h *Head, fn func(*Tx) error) *Snapshot {
	t.Helper()
	s, err := h.Update(context.Background(), fn)
	require.NoError(t, err)
	return s
}

// requireField asserts err is a *ValidationError that names field.
func requireField(t testing.TB, err error, field string) *ValidationError {
	t.Helper()
	var ve *ValidationError
	require.ErrorAs(t, err, &ve, "want a *ValidationError naming %q", field)
	require.Contains(t, ve.Fields, field, "fields: %v", ve.Fields)
	return ve
}

// requireNotFound asserts err is a *NotFoundError about kind k.
func requireNotFound(t testing.TB, err error, k Kind) {
	t.Helper()
	var nf *NotFoundError
	require.ErrorAs(t, err, &nf)
	assert.Equal(t, k, nf.Kind)
}

func createService(t testing.TB, tx *Tx, name, backendVersion string) (*Service, *Metric) {
	t.Helper()
	s := &Service{Name: name, BackendVersion: backendVersion}
	require.NoError(t, tx.Create(s))
	hits, ok := tx.View().Hits(OwnerService, s.ID)
	require.True(t, ok, "service %q has no hits metric", name)
	return s, hits
}

func createMetric(t testing.TB, tx *Tx, ownerType string, ownerID, parentID int64, friendly string) *Metric {
	t.Helper()
	m := &Metric{OwnerType: ownerType, OwnerID: ownerID, ParentID: parentID, FriendlyName: friendly, Unit: "unit"}
	require.NoError(t, tx.Create(m))
	return m
}

func createRule(t testing.TB, tx *Tx, ownerType string, ownerID, metricID int64, method, pattern string, delta, position int64, last bool) *MappingRule {
	t.Helper()
	r := &MappingRule{
		OwnerType: ownerType, OwnerID: ownerID, MetricID: metricID,
		HTTPMethod: method, Pattern: pattern, Delta: delta, Position: position, Last: last,
	}
	require.NoError(t, tx.Create(r))
	return r
}

func createPlan(t testing.TB, tx *Tx, serviceID int64, name string, def bool) *ApplicationPlan {
	t.Helper()
	p := &ApplicationPlan{ServiceID: serviceID, Name: name, Default: def}
	require.NoError(t, tx.Create(p))
	return p
}

func createAccount(t testing.TB, tx *Tx, org string) *Account {
	t.Helper()
	a := &Account{OrgName: org}
	require.NoError(t, tx.Create(a))
	return a
}

func createApp(t testing.TB, tx *Tx, accountID, planID int64, name string) *Application {
	t.Helper()
	a := &Application{AccountID: accountID, PlanID: planID, Name: name}
	require.NoError(t, tx.Create(a))
	return a
}

func createBackend(t testing.TB, tx *Tx, name string) (*BackendAPI, *Metric) {
	t.Helper()
	b := &BackendAPI{Name: name, PrivateEndpoint: "http://backend.internal:8080"}
	require.NoError(t, tx.Create(b))
	hits, ok := tx.View().Hits(OwnerBackendAPI, b.ID)
	require.True(t, ok)
	return b, hits
}

func TestFailedWriteLeavesSnapshotUntouched(t *testing.T) {
	h := newTestHead()
	var svcID int64
	mustUpdate(t, h, func(tx *Tx) error {
		s, _ := createService(t, tx, "Svc", "1")
		svcID = s.ID
		return nil
	})
	snap := h.Snapshot()
	require.EqualValues(t, 1, snap.Revision)
	lastID, metrics := snap.LastID, snap.Metrics.Len()

	boom := errors.New("boom")
	got, err := h.Update(context.Background(), func(tx *Tx) error {
		for i := range 5 {
			m := &Metric{OwnerType: OwnerService, OwnerID: svcID, FriendlyName: "m" + string(rune('a'+i)), Unit: "u"}
			if err := tx.Create(m); err != nil {
				return err
			}
		}
		if err := tx.Delete(KindService, svcID); err != nil {
			return err
		}
		return boom
	})
	require.ErrorIs(t, err, boom)
	assert.Nil(t, got)
	assert.Same(t, snap, h.Snapshot(), "a failed write publishes nothing")
	assert.EqualValues(t, 1, h.Snapshot().Revision)
	assert.Equal(t, lastID, snap.LastID)
	assert.Equal(t, metrics, snap.Metrics.Len())
	_, ok := snap.Services.Get(svcID)
	assert.True(t, ok)

	// A validation error that fn passes on fails the write the same way.
	_, err = h.Update(context.Background(), func(tx *Tx) error {
		require.NoError(t, tx.Create(&Service{Name: "Fine"}))
		return tx.Create(&Service{Name: "Svc"}) // duplicate system_name
	})
	requireField(t, err, "system_name")
	assert.Same(t, snap, h.Snapshot())
	assert.Equal(t, 1, h.Snapshot().Services.Len())

	// A Tx that writes nothing makes no revision: reads only, or a refused
	// create whose error fn swallows.
	got, err = h.Update(context.Background(), func(tx *Tx) error {
		_, _ = tx.View().Services.Get(svcID)
		return nil
	})
	require.NoError(t, err)
	assert.Same(t, snap, got)
	got, err = h.Update(context.Background(), func(tx *Tx) error {
		_ = tx.Create(&Service{Name: "Svc"})
		return nil
	})
	require.NoError(t, err)
	assert.Same(t, snap, got)
	assert.Equal(t, lastID, h.Snapshot().LastID)

	// A failing persist publishes nothing either.
	failing := NewHead(snap, func(context.Context, []Change, *Composition) error { return boom }, nil)
	_, err = failing.Update(context.Background(), func(tx *Tx) error { return tx.Create(&Service{Name: "New"}) })
	require.ErrorIs(t, err, boom)
	assert.Same(t, snap, failing.Snapshot())

	// The next successful write is the next revision.
	next := mustUpdate(t, h, func(tx *Tx) error { return tx.Create(&Service{Name: "Second"}) })
	assert.EqualValues(t, 2, next.Revision)
	assert.Equal(t, 2, next.Services.Len())
	assert.Greater(t, next.LastID, lastID)
}

// snapshotJSON captures every entity of c by value.
func snapshotJSON(t testing.TB, c *Composition) string {
	t.Helper()
	b, err := json.Marshal(Export(c, true, time.Time{}))
	require.NoError(t, err)
	return string(b)
}

func TestSnapshotsAreImmutable(t *testing.T) {
	h := newTestHead()
	var (
		svc   *Service
		hits  *Metric
		r1    *MappingRule
		plan  *ApplicationPlan
		acc   *Account
		app   *Application
		usage *BackendUsage
	)
	mustUpdate(t, h, func(tx *Tx) error {
		svc, hits = createService(t, tx, "Svc", "1")
		r1 = createRule(t, tx, OwnerService, svc.ID, hits.ID, "GET", "/a", 1, 0, false)
		createRule(t, tx, OwnerService, svc.ID, hits.ID, "GET", "/b", 1, 0, false)
		plan = createPlan(t, tx, svc.ID, "Basic", true)
		acc = createAccount(t, tx, "ACME")
		app = createApp(t, tx, acc.ID, plan.ID, "app")
		b, _ := createBackend(t, tx, "Backend")
		usage = &BackendUsage{ServiceID: svc.ID, BackendAPIID: b.ID, Path: "/v1"}
		return tx.Create(usage)
	})
	old := h.Snapshot()
	oldJSON := snapshotJSON(t, old)
	oldRev, oldLastID := old.Revision, old.LastID
	lens := map[Kind]int{}
	for _, k := range Kinds {
		lens[k] = old.table(k).Len()
	}
	svcCopy, ruleCopy, planCopy, appCopy := *svc, *r1, *plan, *app
	oldProxy, _ := old.Proxies.Get(svc.ID)
	proxyCopy := *oldProxy

	later := testNow.Add(time.Minute)
	h.now = func() time.Time { return later }
	mustUpdate(t, h, func(tx *Tx) error {
		s := *svc
		s.Name = "Renamed"
		s.Description = "changed"
		require.NoError(t, tx.Update(&s))
		p, _ := tx.View().Proxies.Get(svc.ID)
		px := *p
		px.Endpoint = "https://api.example.com"
		px.PolicyChain = append([]PolicyConfig{{Name: "cors", Version: "builtin"}}, p.PolicyChain...)
		require.NoError(t, tx.Update(&px))
		createMetric(t, tx, OwnerService, svc.ID, 0, "Bytes")
		require.NoError(t, tx.Delete(KindMappingRule, r1.ID))
		createRule(t, tx, OwnerService, svc.ID, hits.ID, "POST", "/c", 2, 0, false)
		createPlan(t, tx, svc.ID, "Pro", true) // unsets Basic's default
		u := *usage
		u.Path = "/v9"
		require.NoError(t, tx.Update(&u))
		require.NoError(t, tx.Delete(KindApplication, app.ID))
		createAccount(t, tx, "Newcomer")
		return nil
	})
	cur := h.Snapshot()
	require.EqualValues(t, oldRev+1, cur.Revision)

	// The old snapshot still shows exactly what it showed.
	assert.Equal(t, oldRev, old.Revision)
	assert.Equal(t, oldLastID, old.LastID)
	for _, k := range Kinds {
		assert.Equal(t, lens[k], old.table(k).Len(), "length of %s", k)
	}
	assert.Equal(t, oldJSON, snapshotJSON(t, old), "no entity of the old snapshot changed")
	gotSvc, _ := old.Services.Get(svc.ID)
	assert.Equal(t, svcCopy, *gotSvc)
	gotRule, ok := old.MappingRules.Get(r1.ID)
	require.True(t, ok)
	assert.Equal(t, ruleCopy, *gotRule)
	gotPlan, _ := old.ApplicationPlans.Get(plan.ID)
	assert.Equal(t, planCopy, *gotPlan)
	assert.True(t, gotPlan.Default)
	gotApp, ok := old.Applications.Get(app.ID)
	require.True(t, ok)
	assert.Equal(t, appCopy, *gotApp)
	gotProxy, _ := old.Proxies.Get(svc.ID)
	assert.Equal(t, proxyCopy, *gotProxy)
	assert.Len(t, gotProxy.PolicyChain, 1)
	assert.Len(t, old.MappingRulesOf(OwnerService, svc.ID), 2)

	// The new one shows the write.
	newSvc, _ := cur.Services.Get(svc.ID)
	assert.Equal(t, "Renamed", newSvc.Name)
	assert.Equal(t, svc.CreatedAt, newSvc.CreatedAt)
	assert.Equal(t, later, newSvc.UpdatedAt)
	newProxy, _ := cur.Proxies.Get(svc.ID)
	assert.Equal(t, "https://api.example.com", newProxy.Endpoint)
	assert.EqualValues(t, 1, newProxy.LockVersion)
	_, ok = cur.MappingRules.Get(r1.ID)
	assert.False(t, ok)
	assert.Len(t, cur.MappingRulesOf(OwnerService, svc.ID), 2)
	newPlan, _ := cur.ApplicationPlans.Get(plan.ID)
	assert.False(t, newPlan.Default)
	_, ok = cur.Applications.Get(app.ID)
	assert.False(t, ok)
	assert.Equal(t, lens[KindAccount]+1, cur.Accounts.Len())
	assert.Equal(t, lens[KindMetric]+1, cur.Metrics.Len())
	// Tables the write did not touch are shared, not copied.
	assert.Equal(t, lens[KindUser], cur.Users.Len())

	// A Tx never modifies its base, even before it commits.
	tx := NewTx(cur, later)
	require.NoError(t, tx.Delete(KindService, svc.ID))
	_, ok = cur.Services.Get(svc.ID)
	assert.True(t, ok)
	assert.Same(t, cur, h.Snapshot())
}

func TestTxUpdateAndDeleteUnknown(t *testing.T) {
	tx := NewTx(New(), testNow)
	requireNotFound(t, tx.Update(&Service{ID: 987654, Name: "ghost"}), KindService)
	requireNotFound(t, tx.Delete(KindAccount, 987654), KindAccount)
	assert.Empty(t, tx.Changes())
}

func TestRefusedProxyCreateHandsBackNoID(t *testing.T) {
	tx := NewTx(New(), testNow)
	createService(t, tx, "Svc", "1")
	acc := createAccount(t, tx, "ACME")
	lastID := tx.View().LastID

	// A proxy takes its service's id; refusing it must not give back an id it never took.
	requireField(t, tx.Create(DefaultProxy(987654)), "service_id")
	assert.Equal(t, lastID, tx.View().LastID)

	next := &Account{OrgName: "Globex"}
	require.NoError(t, tx.Create(next))
	assert.Equal(t, lastID+1, next.ID)
	got, ok := tx.View().Accounts.Get(acc.ID)
	require.True(t, ok)
	assert.Equal(t, "ACME", got.OrgName, "an earlier entity is never overwritten by a reused id")
	assert.Equal(t, 2, tx.View().Accounts.Len())
}
