package swagger

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/swagger/openapischema"
)

// A spec's references to other documents are never fetched or opened, in
// either build: a spec from an image or a URL must not make home or an
// agent ask a cloud's metadata service (169.254.169.254) or read a local
// file. libopenapi follows them only when asked
// (datamodel.DocumentConfiguration AllowRemoteReferences and
// AllowFileReferences, both off by default, with no BasePath or BaseURL
// set); openapischema.Check leaves them off. The error names the
// reference that was not followed and says why, rather than libopenapi's
// "component `#/Foo` does not exist in the specification", which names the
// fragment only, as if the document itself lacked it (kusk-gateway says
// "encountered disallowed external reference: URL", kubeshop/kusk-gateway
// issue #834).
func TestParseFollowsNoReferenceToAnotherDocument(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/yaml")
		fmt.Fprint(w, "Foo: {type: string}\npaths: {/a: {get: {responses: {'200': {description: ok}}}}}\n")
	}))
	defer srv.Close()
	secret := filepath.Join(t.TempDir(), "secret.yaml")
	require.NoError(t, os.WriteFile(secret, []byte("Foo: {type: string, description: TOPSECRET}\n"), 0o600))

	schemaRef := func(ref string) string {
		return `{"openapi":"3.0.3","info":{"title":"t","version":"1"},"paths":{"/a":{"get":{"responses":{"200":{"description":"ok",` +
			`"content":{"application/json":{"schema":{"$ref":"` + ref + `"}}}}}}}}}`
	}
	for name, tc := range map[string]struct{ doc, ref string }{
		"schema by URL":          {schemaRef(srv.URL + "/s.yaml#/Foo"), srv.URL + "/s.yaml#/Foo"},
		"schema by file URL":     {schemaRef("file://" + secret + "#/Foo"), "file://" + secret + "#/Foo"},
		"schema by file path":    {schemaRef(secret + "#/Foo"), secret + "#/Foo"},
		"schema by relative ref": {schemaRef("secret.yaml#/Foo"), "secret.yaml#/Foo"},
		"path item by URL": {`{"openapi":"3.1.0","info":{"title":"t","version":"1"},"paths":{"/a":{"$ref":"` +
			srv.URL + `/p.yaml#/paths/~1a"}}}`, srv.URL + "/p.yaml#/paths/~1a"},
		"Swagger 2.0 schema by URL": {`{"swagger":"2.0","info":{"title":"t","version":"1"},"paths":{"/a":{"get":{"responses":{"200":` +
			`{"description":"ok","schema":{"$ref":"` + srv.URL + `/s2.yaml#/Foo"}}}}}}}`, srv.URL + "/s2.yaml#/Foo"},
	} {
		_, err := Parse([]byte(tc.doc), openapischema.Check)
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), fmt.Sprintf("%q", tc.ref), name)
		assert.Contains(t, err.Error(), "another document", name)
		assert.NotContains(t, err.Error(), "TOPSECRET", name)

		// The agent build reads the rest of the document and skips
		// what the reference would have given.
		s, err := Parse([]byte(tc.doc), nil)
		require.NoError(t, err, name)
		assert.NotContains(t, string(s.JSON()), "TOPSECRET", name)
	}
	assert.Zero(t, hits.Load(), "requests the references made")
}
