package swagger_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// TestImportOpenAPISummaryMovesToNewOperation: a re-import where a new
// operation takes the summary an existing one gives up writes the existing
// method's new friendly name before creating the new method: friendly names
// are unique in a service, and the create came first (422 friendly_name has
// already been taken).
func TestImportOpenAPISummaryMovesToNewOperation(t *testing.T) {
	c := testenv.StartCoordinator(t)
	mustImport(t, c, writeSpec(t, "v1.yaml", `openapi: 3.0.3
info: {title: Moves, version: "1"}
paths:
  /books/{id}:
    get:
      operationId: getBook
      summary: Get a book
      responses: {"200": {description: ok}}
`))
	out, err := importCLI(t, c, writeSpec(t, "v2.yaml", `openapi: 3.0.3
info: {title: Moves, version: "2"}
paths:
  /a/books/{id}:
    get:
      operationId: getArchivedBook
      summary: Get a book
      responses: {"200": {description: ok}}
  /books/{id}:
    get:
      operationId: getBook
      summary: Get a current book
      responses: {"200": {description: ok}}
`))
	require.NoError(t, err, out)
	s := readService(t, c, "moves")
	assert.Equal(t, "Get a book", s.methods["getArchivedBook"].Name)
	assert.Equal(t, "Get a current book", s.methods["getBook"].Name)
	assert.Equal(t, "GET /a/books/{id}$ 1", s.rules["getArchivedBook"])
}
