package swagger_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// TestImportOpenAPIOperationNamedHitsIsNotTheHitsMetric: an operation whose
// operationId is "hits" cannot have a method of that system_name, which is
// the service's hits metric, the methods' parent: it gets another name, as
// operations whose names clash do, and the import goes through (it was
// refused halfway: 422 system_name has already been taken).
func TestImportOpenAPIOperationNamedHitsIsNotTheHitsMetric(t *testing.T) {
	c := testenv.StartCoordinator(t)
	spec := writeSpec(t, "hits.yaml", `openapi: 3.0.3
info: {title: Counter, version: "1"}
paths:
  /hits:
    get:
      operationId: hits
      summary: Read the hit counter
      responses: {"200": {description: ok}}
`)
	out, err := importCLI(t, c, spec)
	require.NoError(t, err, out)
	s := readService(t, c, "counter")
	require.Len(t, s.methods, 1)
	assert.Equal(t, "Read the hit counter", s.methods["hits_2"].Name)
	assert.Equal(t, "GET /hits$ 1", s.rules["hits_2"])

	rev := c.Revision(t)
	assert.Contains(t, mustImport(t, c, spec), "up to date")
	assert.Equal(t, rev, c.Revision(t))
}
