package composition

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// referrerApp is the name of buildRich's application the referrer tests
// give filters to.
const referrerApp = "ACME reader"

// appKey returns the natural key of c's application named name.
func appKey(t testing.TB, c *Composition) string {
	t.Helper()
	a, ok := c.Applications.Find(func(a *Application) bool { return a.Name == referrerApp })
	require.True(t, ok)
	key, ok := newKeyIndex(c).keys[changeKey{KindApplication, a.ID}]
	require.True(t, ok)
	return key
}

// withFilters returns a copy of c whose referrerApp has filters of values,
// each with an id and timestamps of that copy's own.
func withFilters(t testing.TB, c *Composition, at time.Time, values ...string) *Composition {
	t.Helper()
	return edited(t, c, func(tx *Tx) {
		a := *byKey[*Application](t, tx.View(), appKey(t, c))
		a.ReferrerFilters = nil
		for _, v := range values {
			a.ReferrerFilters = append(a.ReferrerFilters, ReferrerFilter{ID: tx.NextID(), Value: v, CreatedAt: at, UpdatedAt: at})
		}
		require.NoError(t, tx.Update(&a))
	})
}

// filterIDs maps the values of the referrer filters of c's referrerApp to
// their ids.
func filterIDs(t testing.TB, c *Composition) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, f := range byKey[*Application](t, c, appKey(t, c)).ReferrerFilters {
		out[f.Value] = f.ID
	}
	return out
}

// An application's referrer filters are compared as a set of values: their
// ids, timestamps and order do not count, a value added or removed does,
// and the plan shows the values.
func TestDiffComparesReferrerFiltersByValue(t *testing.T) {
	base := richComposition(t, false)
	current := withFilters(t, base, testNow, "a.example", "*.b.example")
	key := appKey(t, current)

	same := renumbered(t, withFilters(t, base, testNow.Add(time.Hour), "*.b.example", "a.example"))
	p, err := Diff(current, same, DiffOptions{Prune: true})
	require.NoError(t, err)
	assert.Empty(t, planSummary(p), "other ids, timestamps and order: no change")

	tests := []struct {
		name     string
		values   []string
		old, new string
	}{
		{"one added", []string{"a.example", "*.b.example", "c.example"}, `["*.b.example","a.example"]`, `["*.b.example","a.example","c.example"]`},
		{"one removed", []string{"a.example"}, `["*.b.example","a.example"]`, `["a.example"]`},
		{"all removed", nil, `["*.b.example","a.example"]`, `null`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			desired := renumbered(t, withFilters(t, base, testNow, tc.values...))
			p, err := Diff(current, desired, DiffOptions{Prune: true})
			require.NoError(t, err)
			require.Len(t, p.Changes, 1, planSummary(p))
			ch := p.Changes[0]
			assert.Equal(t, []string{"update applications " + key}, planSummary(p))
			assert.Equal(t, []FieldChange{{Field: "referrer_filters", Old: json.RawMessage(tc.old), New: json.RawMessage(tc.new)}}, ch.Fields)
		})
	}

	p, err = Diff(base, renumbered(t, current), DiffOptions{Prune: true})
	require.NoError(t, err)
	require.Len(t, p.Changes, 1, planSummary(p))
	assert.Equal(t, []FieldChange{{Field: "referrer_filters", Old: json.RawMessage(`null`), New: json.RawMessage(`["*.b.example","a.example"]`)}},
		p.Changes[0].Fields, "none before: the values to add")
}

// Applying keeps the ids and timestamps of the filters that stay, gives the
// new ones ids of the composition's sequence, drops the others, in one
// revision; afterwards the diff is empty.
func TestReconcileWritesReferrerFiltersKeepingIDs(t *testing.T) {
	base := richComposition(t, false)
	current := withFilters(t, base, testNow.Add(-time.Hour), "a.example", "*.b.example")
	before := filterIDs(t, current)
	desired := renumbered(t, withFilters(t, base, testNow, "c.example", "a.example"))

	h := newCountingHead(t, current)
	snap := mustUpdate(t, h.Head, func(tx *Tx) error {
		_, err := Reconcile(tx, desired, DiffOptions{Prune: true})
		return err
	})
	assert.Equal(t, 1, h.persisted)
	app := byKey[*Application](t, snap, appKey(t, current))
	values := []string{}
	for _, f := range app.ReferrerFilters {
		values = append(values, f.Value)
	}
	assert.Equal(t, []string{"c.example", "a.example"}, values, "the document's order")
	got := filterIDs(t, snap)
	assert.Equal(t, before["a.example"], got["a.example"], "a value that stays keeps its id")
	kept := app.ReferrerFilters[slices.IndexFunc(app.ReferrerFilters, func(f ReferrerFilter) bool { return f.Value == "a.example" })]
	assert.Equal(t, testNow.Add(-time.Hour), kept.CreatedAt, "and its timestamps")
	added := app.ReferrerFilters[slices.IndexFunc(app.ReferrerFilters, func(f ReferrerFilter) bool { return f.Value == "c.example" })]
	assert.Greater(t, added.ID, current.LastID, "a new value takes the next id of the composition's sequence")
	assert.LessOrEqual(t, added.ID, snap.LastID)
	assert.Equal(t, testNow, added.CreatedAt)

	after, err := Diff(snap, desired, DiffOptions{Prune: true})
	require.NoError(t, err)
	assert.Empty(t, planSummary(after), "applied, the plan is empty")
	again := mustUpdate(t, h.Head, func(tx *Tx) error {
		_, err := Reconcile(tx, desired, DiffOptions{Prune: true})
		return err
	})
	assert.Equal(t, 1, h.persisted, "re-applying writes nothing")
	assert.Equal(t, got, filterIDs(t, again))
}

// An application created by reconciling gets its filters with ids of the
// composition it is created in, never the desired composition's.
func TestReconcileCreatesReferrerFiltersWithOwnIDs(t *testing.T) {
	desired := renumbered(t, withFilters(t, richComposition(t, false), testNow, "a.example", "a.example", "b.example"))
	var desiredIDs []int64
	for _, f := range byKey[*Application](t, desired, appKey(t, desired)).ReferrerFilters {
		desiredIDs = append(desiredIDs, f.ID)
	}

	h := newCountingHead(t, New())
	snap := mustUpdate(t, h.Head, func(tx *Tx) error {
		_, err := Reconcile(tx, desired, DiffOptions{Secrets: true})
		return err
	})
	app := byKey[*Application](t, snap, appKey(t, desired))
	require.Len(t, app.ReferrerFilters, 2, "each value once")
	ids := map[int64]bool{}
	for _, f := range app.ReferrerFilters {
		assert.NotContains(t, desiredIDs, f.ID)
		assert.Greater(t, f.ID, ProviderAccountID)
		assert.LessOrEqual(t, f.ID, snap.LastID)
		ids[f.ID] = true
	}
	assert.Len(t, ids, 2)
	for _, k := range kinds {
		k.tableIn(snap).eachEntity(func(e Entity) {
			assert.False(t, ids[e.Key()], "%s %d shares a filter's id", k.kind(), e.Key())
		})
	}
}
