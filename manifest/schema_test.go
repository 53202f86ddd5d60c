package manifest_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/pb33f/jsonschema/v6"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/manifest"
)

// compileSchema compiles manifest.Schema with the santhosh-tekuri validator
// (pb33f's fork, already in the module graph through libopenapi).
func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(manifest.Schema()))
	require.NoError(t, err)
	c := jsonschema.NewCompiler()
	require.NoError(t, c.AddResource("schema.json", doc))
	sch, err := c.Compile("schema.json")
	require.NoError(t, err)
	return sch
}

// asJSON is a document as the validator sees it.
func asJSON(t *testing.T, d manifest.Document) any {
	t.Helper()
	b, err := json.Marshal(d)
	require.NoError(t, err)
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	require.NoError(t, err)
	return v
}

func TestExportedDocumentsValidateAgainstTheSchema(t *testing.T) {
	sch := compileSchema(t)
	docs := manifest.Export(buildComposition(t), manifest.ExportOptions{IncludeSecrets: true})
	toolbox, err := manifest.Load("testdata/toolbox-product.yaml")
	require.NoError(t, err)
	for _, d := range append(docs, toolbox...) {
		assert.NoError(t, sch.Validate(asJSON(t, d)), "%s %q", d.Kind, d.Name())
	}
}

func TestTheSchemaRefusesWhatTheDecoderRefuses(t *testing.T) {
	sch := compileSchema(t)
	for _, doc := range []string{
		`{"apiVersion":"portolan.dev/v1","kind":"Service","system_name":"s","name":"S","plans":[{"system_name":"p","name":"P","limits":[{"metric":"hits","period":"dai","value":1}]}]}`,
		`{"apiVersion":"portolan.dev/v1","kind":"Service","system_name":"s","name":"S","colour":"blue"}`,
		`{"apiVersion":"portolan.dev/v1","kind":"Widget","name":"w"}`,
		`{"apiVersion":"portolan.dev/v1","kind":"Placement","name":"p","service":"s"}`,
		`{"apiVersion":"portolan.dev/v1","kind":"Backend","system_name":"b","name":"B"}`,
		`{"apiVersion":"portolan.dev/v1","kind":"Service","system_name":"s","name":"S","proxy":{"error_status_no_match":700}}`,
	} {
		v, err := jsonschema.UnmarshalJSON(strings.NewReader(doc))
		require.NoError(t, err)
		assert.Error(t, sch.Validate(v), doc)
		_, err = manifest.Decode(strings.NewReader(doc), "doc.json")
		assert.Error(t, err, doc)
	}
}
