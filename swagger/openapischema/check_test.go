package openapischema

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func spec(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "specs", name))
	require.NoError(t, err)
	return b
}

func TestCheckAcceptsValidDocuments(t *testing.T) {
	assert.NoError(t, Check(spec(t, "shop-3.0.yaml"), false, nil))
	assert.NoError(t, Check(spec(t, "library-3.1.yaml"), false, nil))
	assert.NoError(t, Check(spec(t, "petstore-2.0.json"), true, nil))
}

func TestCheckNamesTheProblemAndItsLine(t *testing.T) {
	err := Check(spec(t, "invalid-schema-3.0.yaml"), false, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "does not match the OpenAPI schema")
	assert.Contains(t, err.Error(), "$.paths['/things'].get.responses")
	assert.Regexp(t, `\(line \d+\)`, err.Error())

	err = Check(spec(t, "invalid-ref-3.1.json"), false, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "resolve references")
	assert.Contains(t, err.Error(), "#/components/schemas/Missing")

	err = Check([]byte(`{"swagger": "2.0", "info": {"title": "t", "version": "1"}, "paths": {"/a": {"get": {}}}}`), true, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "responses")
}

// An unquoted status code is a YAML key that is not a string: the document
// is checked in its JSON form, when there is one to ask for.
func TestCheckReadsNonStringKeysThroughTheJSONForm(t *testing.T) {
	yaml := []byte("openapi: 3.0.0\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    get:\n      responses:\n        200:\n          description: ok\n")
	json := []byte(`{"openapi":"3.0.0","info":{"title":"t","version":"1"},"paths":{"/a":{"get":{"responses":{"200":{"description":"ok"}}}}}}`)
	asked := 0
	assert.NoError(t, Check(yaml, false, func() []byte { asked++; return json }))
	assert.Equal(t, 1, asked)

	err := Check(yaml, false, nil)
	require.ErrorIs(t, err, errNonStringKey)
}
