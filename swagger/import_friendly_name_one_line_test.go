package swagger_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// TestImportOpenAPIMultiLineSummaryIsOneLineFriendlyName: a summary or a
// title written over several lines (a YAML block scalar) becomes a name on
// one line: a method's friendly_name, like a service's name, holds no
// control character, so the import was refused halfway (422 on the method,
// the service already created).
func TestImportOpenAPIMultiLineSummaryIsOneLineFriendlyName(t *testing.T) {
	c := testenv.StartCoordinator(t)
	out, err := importCLI(t, c, writeSpec(t, "multi.yaml", `openapi: 3.0.3
info:
  title: |
    Multi
    Line
  version: "1"
paths:
  /things:
    get:
      operationId: listThings
      summary: |
        List things
        	across lines
      responses: {"200": {description: ok}}
`), "--service", "multi")
	require.NoError(t, err, out)
	s := readService(t, c, "multi")
	assert.Equal(t, "Multi Line", s.product.Name)
	assert.Equal(t, "List things across lines", s.methods["listThings"].Name)
	assert.Equal(t, "Multi Line", *s.doc.Name)
}
