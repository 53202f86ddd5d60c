package swagger

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/swagger/openapischema"
)

// A document that says it is both Swagger 2.0 and OpenAPI 3 is refused in
// both builds, naming the two markers. Each version's schema forbids the
// other's field (the Swagger 2.0 schema and OpenAPI 3.x's allow no
// properties but their own and x- ones), so the full build refused it
// ("additional properties 'openapi' not allowed"), while the agent build's
// management proxy read it as Swagger 2.0, taking its basePath and skipping
// its servers: a selection checked with `portolan swagger list` could not
// be the one the proxy applied.
func TestParseRefusesBothSwaggerAndOpenAPIMarkers(t *testing.T) {
	doc := []byte(`{"openapi":"3.0.3","swagger":"2.0","info":{"title":"t","version":"1"},"basePath":"/v2",` +
		`"servers":[{"url":"/v3"}],"paths":{"/a":{"get":{"responses":{"200":{"description":"ok"}}}}}}`)
	for _, check := range []SchemaCheck{nil, openapischema.Check} {
		s, err := Parse(doc, check)
		if s != nil {
			t.Logf("read as %s %s, base path %q", s.kind(), s.Version(), s.BasePath())
		}
		require.Error(t, err, "schema check: %v", check != nil)
		assert.Contains(t, err.Error(), `both "openapi" and "swagger"`, "schema check: %v", check != nil)
	}
}
