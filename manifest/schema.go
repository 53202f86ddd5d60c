package manifest

import (
	_ "embed"
	"slices"
)

//go:embed schema.json
var schema []byte

// Schema returns the JSON Schema (draft 2020-12) of one document, made from
// the Go types (schema_gen_test.go keeps it current). Editors validate YAML
// documents against it too.
func Schema() []byte { return slices.Clone(schema) }
