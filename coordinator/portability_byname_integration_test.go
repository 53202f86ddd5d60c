package coordinator_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/testenv"
)

// importDoc posts d to co's import and returns how many entities it wrote.
func importDoc(t *testing.T, co *testenv.Coordinator, d *composition.Document) int {
	t.Helper()
	b, err := json.Marshal(d)
	require.NoError(t, err)
	got := send(t, co, "POST", "/admin/portolan/composition", "application/json", string(b))
	require.Equal(t, 201, got.status, got.body)
	var out struct {
		Imported int `json:"imported"`
	}
	require.NoError(t, json.Unmarshal([]byte(got.body), &out))
	return out.Imported
}

// Importing into a home that holds the document's entities updates them by
// name: a second import of the same document makes no revision, and an
// edited one changes only what was edited.
func TestImportCompositionAppliesByName(t *testing.T) {
	a := testenv.StartCoordinator(t) // skips under -short, as every starter does
	buildComposition(t, a)
	for _, secrets := range []bool{true, false} {
		b := testenv.StartCoordinator(t)
		doc := exportDoc(t, a, secrets)
		require.NotZero(t, importDoc(t, b, doc))
		rev := b.Revision(t)

		assert.Zero(t, importDoc(t, b, exportDoc(t, a, secrets)), "secrets=%v: nothing to write", secrets)
		assert.Equal(t, rev, b.Revision(t), "secrets=%v: a second import makes no revision", secrets)

		edited := exportDoc(t, a, secrets)
		require.Len(t, edited.UsageLimits, 1)
		edited.UsageLimits[0].Value = 9
		require.NotEmpty(t, edited.ApplicationPlans)
		edited.ApplicationPlans[0].Name = "Basic v2"
		assert.Equal(t, 2, importDoc(t, b, edited), "secrets=%v: the limit and the plan are updated", secrets)
		assert.Equal(t, rev+1, b.Revision(t), "one revision")

		got := exportDoc(t, b, true)
		assert.Len(t, got.Services, len(doc.Services), "no service doubled")
		assert.Len(t, got.Applications, len(doc.Applications), "no application doubled")
		require.Len(t, got.UsageLimits, 1)
		assert.Equal(t, int64(9), got.UsageLimits[0].Value)
		assert.Equal(t, "Basic v2", got.ApplicationPlans[0].Name)
	}
}
