package composition

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A backend usage's path is unique within its product in what a write
// leaves, not at each step of it: an apply (Reconcile) or an import by name
// in which backends trade paths, or a new backend takes the path another
// leaves, makes one valid composition and is written as one, as `portolan
// apply` promises ("home's composition what the documents say in one
// revision"). Two usages left on one path are still refused.
func TestReconcileMovesBackendUsagePathsInOneWrite(t *testing.T) {
	product := func(tx *Tx, usages map[string]string, order ...string) {
		svc, _ := createService(t, tx, "Product", "1")
		ids := map[string]int64{}
		for _, name := range []string{"A", "B", "C"} {
			b, _ := createBackend(t, tx, name)
			ids[name] = b.ID
		}
		for _, name := range order {
			require.NoError(t, tx.Create(&BackendUsage{ServiceID: svc.ID, BackendAPIID: ids[name], Path: usages[name]}))
		}
	}
	home := built(t, func(tx *Tx) { product(tx, map[string]string{"A": "/", "B": "/b"}, "A", "B") })
	for name, tc := range map[string]struct {
		usages map[string]string
		order  []string
	}{
		"trade paths":                   {map[string]string{"A": "/b", "B": "/"}, []string{"A", "B"}},
		"a new backend takes the root":  {map[string]string{"C": "/", "A": "/a", "B": "/b"}, []string{"C", "A", "B"}},
		"a chain of moves":              {map[string]string{"A": "/b", "B": "/c"}, []string{"A", "B"}},
		"case and slash change nothing": {map[string]string{"A": "/", "B": "/B/"}, []string{"A", "B"}},
	} {
		desired := built(t, func(tx *Tx) { product(tx, tc.usages, tc.order...) })
		for _, write := range []func(tx *Tx) error{
			func(tx *Tx) error { _, err := Reconcile(tx, desired, DiffOptions{}); return err },
			func(tx *Tx) error { _, err := ImportByName(tx, Export(desired, true, testNow)); return err },
		} {
			tx := NewTx(home, testNow)
			require.NoError(t, write(tx), name)
			got := map[string]string{}
			for _, u := range tx.View().BackendUsages.All() {
				b, _ := tx.View().BackendAPIs.Get(u.BackendAPIID)
				got[b.Name] = u.Path
			}
			want := map[string]string{} // as porta stores them: "/B/" is "/B"
			for b, path := range tc.usages {
				want[b] = ConfigPath(path)
			}
			assert.Equal(t, want, got, name)
		}
	}

	desired := built(t, func(tx *Tx) { product(tx, map[string]string{"A": "/b", "B": "/b"}, "A") })
	tx := NewTx(home, testNow)
	_, err := ImportByName(tx, Export(edited(t, desired, func(tx *Tx) {
		b, _ := tx.View().BackendAPIs.Find(func(b *BackendAPI) bool { return b.Name == "B" })
		s, _ := tx.View().Services.Find(func(*Service) bool { return true })
		tx.c.BackendUsages.putEntity(&BackendUsage{ID: 9999, ServiceID: s.ID, BackendAPIID: b.ID, Path: "/B"})
	}), true, testNow))
	var v *ValidationError
	require.ErrorAs(t, err, &v, "two usages left on one path")
	assert.Equal(t, []string{"This path is already taken. Specify a different path."}, v.Fields["path"])
}
