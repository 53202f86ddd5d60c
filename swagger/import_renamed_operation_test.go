package swagger_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// writeSpec writes a spec into a temporary file and returns its path.
func writeSpec(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
	return p
}

// TestImportOpenAPIRenamedOperationKeepsItsRule: a re-import after an
// operation's operationId changed replaces its method by the new one and
// leaves the operation's mapping rule on the new method. 3scale deletes a
// method's mapping rules with it, so the rule cannot be moved over to the new
// method after the old one is gone: the import ended in a 404 with the old
// method deleted, the new one created and no rule for the operation.
func TestImportOpenAPIRenamedOperationKeepsItsRule(t *testing.T) {
	const spec = `openapi: 3.0.3
info: {title: Renamed, version: "1"}
paths:
  /books/{id}:
    get:
      operationId: %s
      summary: Get a book
      responses: {"200": {description: ok}}
  /books:
    get:
      operationId: listBooks
      responses: {"200": {description: ok}}
`
	c := testenv.StartCoordinator(t)
	mustImport(t, c, writeSpec(t, "v1.yaml", fmt.Sprintf(spec, "getBook")))
	require.Equal(t, "GET /books/{id}$ 1", readService(t, c, "renamed").rules["getBook"])

	out, err := importCLI(t, c, writeSpec(t, "v2.yaml", fmt.Sprintf(spec, "fetchBook")))
	require.NoError(t, err, "the re-import after a rename fails:\n%s", out)
	s := readService(t, c, "renamed")
	assert.NotContains(t, s.methods, "getBook", "the old operationId's method is gone")
	assert.Equal(t, "Get a book", s.methods["fetchBook"].Name)
	assert.Equal(t, "GET /books/{id}$ 1", s.rules["fetchBook"], "the renamed operation has its rule")
	assert.Equal(t, "GET /books$ 1", s.rules["listBooks"])
	assert.Len(t, s.rules, 2)

	rev := c.Revision(t)
	assert.Contains(t, mustImport(t, c, writeSpec(t, "v2.yaml", fmt.Sprintf(spec, "fetchBook"))), "up to date")
	assert.Equal(t, rev, c.Revision(t))
}
