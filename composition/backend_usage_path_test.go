package composition

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// porta's BackendApiConfig: "validates :path, uniqueness: { scope:
// :service_id, case_sensitive: false, message: "This path is already taken.
// Specify a different path." }". Another product may use the same path.
func TestBackendUsagePathIsUniqueWithinItsProduct(t *testing.T) {
	tx := NewTx(New(), testNow)
	svc, _ := createService(t, tx, "Product", "1")
	other, _ := createService(t, tx, "Other", "1")
	a, _ := createBackend(t, tx, "A")
	b, _ := createBackend(t, tx, "B")
	require.NoError(t, tx.Create(&BackendUsage{ServiceID: svc.ID, BackendAPIID: a.ID, Path: "/v1"}))

	for _, path := range []string{"/v1", "/V1", "/v1/"} {
		err := tx.Create(&BackendUsage{ServiceID: svc.ID, BackendAPIID: b.ID, Path: path})
		var v *ValidationError
		require.ErrorAs(t, err, &v, "path %q", path)
		assert.Equal(t, []string{"This path is already taken. Specify a different path."}, v.Fields["path"], "path %q", path)
	}

	require.NoError(t, tx.Create(&BackendUsage{ServiceID: other.ID, BackendAPIID: b.ID, Path: "/v1"}), "another product")
	u := &BackendUsage{ServiceID: svc.ID, BackendAPIID: b.ID, Path: "/v2"}
	require.NoError(t, tx.Create(u))
	moved := *u
	moved.Path = "/v1/"
	var v *ValidationError
	require.ErrorAs(t, tx.Update(&moved), &v, "moving onto a taken path")
	moved.Path = "/v2/"
	require.NoError(t, tx.Update(&moved), "its own path, spelt with a slash")
}
