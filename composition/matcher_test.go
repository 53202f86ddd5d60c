package composition

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mustMatcher(t testing.TB, c *Composition, serviceID int64) *Matcher {
	t.Helper()
	m, err := NewMatcher(c, serviceID)
	require.NoError(t, err)
	return m
}

func TestMatcherDeltasAddAndMethodsCountToHits(t *testing.T) {
	tx := NewTx(New(), testNow)
	svc, hits := createService(t, tx, "Widgets", "1")
	getWidgets := createMetric(t, tx, OwnerService, svc.ID, hits.ID, "Get widgets")
	bytes := createMetric(t, tx, OwnerService, svc.ID, 0, "Bytes")
	createRule(t, tx, OwnerService, svc.ID, getWidgets.ID, "GET", "/widgets", 1, 0, false)
	createRule(t, tx, OwnerService, svc.ID, bytes.ID, "GET", "/widgets/{id}", 3, 0, false)
	createRule(t, tx, OwnerService, svc.ID, hits.ID, "ANY", "/", 2, 0, false)
	createRule(t, tx, OwnerService, svc.ID, bytes.ID, "GET", "/search?q={q}", 7, 0, false)
	m := mustMatcher(t, tx.Result(), svc.ID)
	assert.Equal(t, 4, m.Len())
	assert.Equal(t, svc.ID, m.ServiceID)

	for _, tc := range []struct {
		name, method, path string
		query              url.Values
		want               []Hit
		n                  int
	}{
		{
			// the method counts 1 to itself and 1 to hits; the ANY / rule adds 2 more to hits
			name: "method and hits", method: "GET", path: "/widgets",
			want: []Hit{{getWidgets.ID, 1}, {hits.ID, 3}}, n: 2,
		},
		{
			// /widgets is a prefix of /widgets/42, so three rules match
			name: "deltas add", method: "GET", path: "/widgets/42",
			want: []Hit{{getWidgets.ID, 1}, {hits.ID, 3}, {bytes.ID, 3}}, n: 3,
		},
		{
			name: "other method, only ANY matches", method: "POST", path: "/widgets/42",
			want: []Hit{{hits.ID, 2}}, n: 1,
		},
		{
			name: "query placeholder", method: "GET", path: "/search", query: url.Values{"q": {"cats"}},
			want: []Hit{{hits.ID, 2}, {bytes.ID, 7}}, n: 2,
		},
		{
			name: "query missing", method: "GET", path: "/search",
			want: []Hit{{hits.ID, 2}}, n: 1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, n := m.Match(nil, tc.method, tc.path, tc.query)
			assert.Equal(t, tc.n, n)
			assert.Equal(t, tc.want, got)
		})
	}

	// Match appends to dst, adding to hits already there.
	dst := []Hit{{hits.ID, 10}}
	got, n := m.Match(dst, "GET", "/widgets", nil)
	assert.Equal(t, 2, n)
	assert.Equal(t, []Hit{{hits.ID, 13}, {getWidgets.ID, 1}}, got)
}

func TestMatcherNoMatch(t *testing.T) {
	tx := NewTx(New(), testNow)
	svc, hits := createService(t, tx, "Svc", "1")
	createRule(t, tx, OwnerService, svc.ID, hits.ID, "GET", "/only$", 1, 0, false)
	m := mustMatcher(t, tx.Result(), svc.ID)

	for _, req := range [][2]string{{"POST", "/only"}, {"GET", "/only/more"}, {"GET", "/"}, {"GET", "/other"}} {
		got, n := m.Match(nil, req[0], req[1], nil)
		assert.Zero(t, n, "%s %s", req[0], req[1])
		assert.Empty(t, got)
	}
	dst := []Hit{{hits.ID, 4}}
	got, n := m.Match(dst, "DELETE", "/only", nil)
	assert.Zero(t, n)
	assert.Equal(t, []Hit{{hits.ID, 4}}, got, "dst is returned unchanged")

	// A service without rules matches nothing.
	tx2 := NewTx(New(), testNow)
	empty, _ := createService(t, tx2, "Empty", "1")
	em := mustMatcher(t, tx2.Result(), empty.ID)
	assert.Zero(t, em.Len())
	_, n = em.Match(nil, "GET", "/", nil)
	assert.Zero(t, n)

	_, err := NewMatcher(New(), 987654)
	requireNotFound(t, err, KindService)
}

func TestMatcherPositionOrderAndLast(t *testing.T) {
	tx := NewTx(New(), testNow)
	svc, hits := createService(t, tx, "Svc", "1")
	a := createMetric(t, tx, OwnerService, svc.ID, 0, "A")
	b := createMetric(t, tx, OwnerService, svc.ID, 0, "B")
	c := createMetric(t, tx, OwnerService, svc.ID, 0, "C")
	// Created in the reverse of their positions: order comes from position, not creation.
	rc := createRule(t, tx, OwnerService, svc.ID, c.ID, "GET", "/items", 1, 30, false)
	rb := createRule(t, tx, OwnerService, svc.ID, b.ID, "GET", "/items", 1, 20, false)
	ra := createRule(t, tx, OwnerService, svc.ID, a.ID, "GET", "/items", 1, 10, false)
	snap := tx.Result()

	got, n := mustMatcher(t, snap, svc.ID).Match(nil, "GET", "/items", nil)
	assert.Equal(t, 3, n)
	assert.Equal(t, []Hit{{a.ID, 1}, {b.ID, 1}, {c.ID, 1}}, got, "position order")

	// `last` on the middle rule stops the matching after it.
	tx = NewTx(snap, testNow)
	upd := *rb
	upd.Last = true
	require.NoError(t, tx.Update(&upd))
	lastSnap := tx.Result()
	got, n = mustMatcher(t, lastSnap, svc.ID).Match(nil, "GET", "/items", nil)
	assert.Equal(t, 2, n)
	assert.Equal(t, []Hit{{a.ID, 1}, {b.ID, 1}}, got)

	// A last rule that does not match does not stop anything.
	got, n = mustMatcher(t, lastSnap, svc.ID).Match(nil, "POST", "/items", nil)
	assert.Zero(t, n)
	assert.Empty(t, got)
	tx = NewTx(lastSnap, testNow)
	createRule(t, tx, OwnerService, svc.ID, hits.ID, "GET", "/other", 1, 15, true)
	got, n = mustMatcher(t, tx.Result(), svc.ID).Match(nil, "GET", "/items", nil)
	assert.Equal(t, 2, n)
	assert.Equal(t, []Hit{{a.ID, 1}, {b.ID, 1}}, got)

	// Moving the last rule first makes it the only one that counts.
	tx = NewTx(lastSnap, testNow)
	upd = *rc
	upd.Position, upd.Last = 1, true
	require.NoError(t, tx.Update(&upd))
	got, n = mustMatcher(t, tx.Result(), svc.ID).Match(nil, "GET", "/items", nil)
	assert.Equal(t, 1, n)
	assert.Equal(t, []Hit{{c.ID, 1}}, got)

	// Equal positions fall back to creation (id) order.
	tx = NewTx(snap, testNow)
	for _, r := range []*MappingRule{ra, rb, rc} {
		u := *r
		u.Position = 5
		require.NoError(t, tx.Update(&u))
	}
	got, _ = mustMatcher(t, tx.Result(), svc.ID).Match(nil, "GET", "/items", nil)
	assert.Equal(t, []Hit{{c.ID, 1}, {b.ID, 1}, {a.ID, 1}}, got)
}

func TestMatcherBackendRulesBelowUsagePath(t *testing.T) {
	tx := NewTx(New(), testNow)
	svc, hits := createService(t, tx, "Product", "1")
	backend, bHits := createBackend(t, tx, "Backend v2")
	bMethod := createMetric(t, tx, OwnerBackendAPI, backend.ID, bHits.ID, "Get foo")
	root, rootHits := createBackend(t, tx, "Root backend")
	createRule(t, tx, OwnerBackendAPI, backend.ID, bMethod.ID, "GET", "/foo", 1, 0, false)
	createRule(t, tx, OwnerBackendAPI, backend.ID, bHits.ID, "GET", "/", 5, 0, false)
	createRule(t, tx, OwnerBackendAPI, root.ID, rootHits.ID, "GET", "/foo", 100, 0, false)
	require.NoError(t, tx.Create(&BackendUsage{ServiceID: svc.ID, BackendAPIID: backend.ID, Path: "/v2"}))
	require.NoError(t, tx.Create(&BackendUsage{ServiceID: svc.ID, BackendAPIID: root.ID, Path: "/"}))
	createRule(t, tx, OwnerService, svc.ID, hits.ID, "GET", "/v2/foo", 1000, 0, false)
	snap := tx.Result()
	m := mustMatcher(t, snap, svc.ID)
	assert.Equal(t, 4, m.Len())

	for _, tc := range []struct {
		path string
		want []Hit
		n    int
	}{
		// product rule, then /v2 backend's /foo (method, counted to its hits too)
		// and / rules, then the root backend's /foo, which sees the whole path.
		{"/v2/foo", []Hit{{hits.ID, 1000}, {bMethod.ID, 1}, {bHits.ID, 6}}, 3},
		// below /v2 only the backend's "/" rule matches
		{"/v2/bar", []Hit{{bHits.ID, 5}}, 1},
		{"/v2", []Hit{{bHits.ID, 5}}, 1},
		{"/v2/", []Hit{{bHits.ID, 5}}, 1},
		// the usage path is a path prefix, not a string prefix
		{"/v2foo", nil, 0},
		// /foo is not below /v2: only the root backend matches
		{"/foo", []Hit{{rootHits.ID, 100}}, 1},
		{"/other", nil, 0},
	} {
		t.Run(tc.path, func(t *testing.T) {
			got, n := m.Match(nil, "GET", tc.path, nil)
			assert.Equal(t, tc.n, n)
			assert.Equal(t, tc.want, got)
		})
	}

	// Another product using the same backend at another path matches there.
	tx = NewTx(snap, testNow)
	other, _ := createService(t, tx, "Other product", "1")
	require.NoError(t, tx.Create(&BackendUsage{ServiceID: other.ID, BackendAPIID: backend.ID, Path: "/api/legacy/"}))
	om := mustMatcher(t, tx.Result(), other.ID)
	got, n := om.Match(nil, "GET", "/api/legacy/foo", nil)
	assert.Equal(t, 2, n)
	assert.Equal(t, []Hit{{bMethod.ID, 1}, {bHits.ID, 6}}, got)
	_, n = om.Match(nil, "GET", "/v2/foo", nil)
	assert.Zero(t, n)

	// Routed to one backend (APIcast's routing policy with owner_id): the
	// other backend's rules match but add nothing; the product's own count.
	got, n = m.MatchOwned(nil, "GET", "/v2/foo", nil, backend.ID)
	assert.Equal(t, 3, n)
	assert.Equal(t, []Hit{{hits.ID, 1000}, {bMethod.ID, 1}, {bHits.ID, 6}}, got)
	got, n = m.MatchOwned(nil, "GET", "/v2/foo", nil, root.ID)
	assert.Equal(t, 3, n, "rules of other owners still match")
	assert.Equal(t, []Hit{{hits.ID, 1000}}, got)
	got, _ = m.MatchOwned(nil, "GET", "/foo", nil, root.ID)
	assert.Equal(t, []Hit{{rootHits.ID, 100}}, got)
	got, n = m.MatchOwned(nil, "GET", "/foo", nil, backend.ID)
	assert.Equal(t, 1, n)
	assert.Empty(t, got, "only another backend's rule matched: no usage")

	// A matcher is a snapshot: later rules do not change it.
	assert.Equal(t, 4, m.Len())
}

// With an owner, a last rule of another backend still stops matching: as
// APIcast, which matches first and subtracts the other owners' deltas
// afterwards.
func TestMatcherOwnedKeepsAnotherOwnersLastRule(t *testing.T) {
	tx := NewTx(New(), testNow)
	svc, _ := createService(t, tx, "Product", "1")
	a, aHits := createBackend(t, tx, "A")
	b, bHits := createBackend(t, tx, "B")
	createRule(t, tx, OwnerBackendAPI, a.ID, aHits.ID, "GET", "/", 1, 0, true)
	createRule(t, tx, OwnerBackendAPI, b.ID, bHits.ID, "GET", "/", 2, 0, false)
	require.NoError(t, tx.Create(&BackendUsage{ServiceID: svc.ID, BackendAPIID: a.ID, Path: "/"}))
	require.NoError(t, tx.Create(&BackendUsage{ServiceID: svc.ID, BackendAPIID: b.ID, Path: "/b"}))
	m := mustMatcher(t, tx.Result(), svc.ID)
	got, n := m.MatchOwned(nil, "GET", "/b/x", nil, b.ID)
	assert.Equal(t, 1, n)
	assert.Empty(t, got)
	got, _ = m.MatchOwned(nil, "GET", "/b/x", nil, a.ID)
	assert.Equal(t, []Hit{{aHits.ID, 1}}, got)
}
