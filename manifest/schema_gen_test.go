package manifest

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"
)

// The JSON Schema in schema.json is made from the Go types by this test, so
// the schema and the decoder read the same tags: `go test ./manifest -run
// TestSchemaIsUpToDate -update` writes it after a change of the types.

var update = flag.Bool("update", false, "write schema.json from the Go types")

// kindDescriptions say what each kind of document is, in the schema.
var kindDescriptions = map[Kind]string{
	KindService:     "A 3scale product with its metrics, methods, mapping rules, backend usages, gateway settings, application plans and features.",
	KindBackend:     "A 3scale backend API with its metrics, methods and mapping rules.",
	KindAccountPlan: "An account plan of the provider's, named by system_name, which developer accounts are on.",
	KindAccount:     "A developer account, named by org_name, with its users and applications.",
	KindPlacement:   "Which instances (by service name and labels) serve which plans of a service.",
}

// generateSchema returns the JSON Schema of one document.
func generateSchema() []byte {
	g := &schemaGen{defs: map[string]any{}}
	var branches []any
	for _, k := range Kinds {
		d := Document{Kind: k}
		t := reflect.TypeOf(d.entity()).Elem()
		doc := g.object(t)
		props := doc["properties"].(map[string]any)
		props["apiVersion"] = map[string]any{"const": APIVersion}
		props["kind"] = map[string]any{"const": string(k)}
		doc["required"] = append([]string{"apiVersion", "kind"}, doc["required"].([]string)...)
		doc["description"] = kindDescriptions[k]
		g.defs[string(k)+"Document"] = doc
		branches = append(branches, map[string]any{"$ref": "#/$defs/" + string(k) + "Document"})
	}
	schema := map[string]any{
		"$schema":     "https://json-schema.org/draft/2020-12/schema",
		"$id":         "https://portolan.dev/schemas/composition-document/v1.json",
		"title":       "Portolan composition document (" + APIVersion + ")",
		"description": "One declarative document of a Portolan composition; a file holds several (YAML documents separated by ---, or a JSON array). Generated from the Go types of package manifest; see manifest/FORMAT.md.",
		"type":        "object",
		"required":    []string{"apiVersion", "kind"},
		"oneOf":       branches,
		"$defs":       g.defs,
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(schema); err != nil {
		panic(err)
	}
	return b.Bytes()
}

type schemaGen struct{ defs map[string]any }

// object is the schema of a struct's fields (properties, required, closed).
func (g *schemaGen) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	required := []string{}
	for _, f := range fields(t) {
		s := g.typeSchema(t.Field(f.index).Type)
		if len(f.oneof) > 0 {
			target := s
			if items, ok := s["items"].(map[string]any); ok {
				target = items
			}
			var enum []any
			for _, v := range f.oneof {
				if target["type"] == "integer" {
					enum = append(enum, json.Number(v))
				} else {
					enum = append(enum, v)
				}
			}
			target["enum"] = enum
		}
		if f.min != nil {
			s["minimum"] = *f.min
			if f.omitempty && *f.min > 0 {
				s["anyOf"] = []any{map[string]any{"const": 0}, map[string]any{"minimum": *f.min}}
				delete(s, "minimum")
			}
		}
		if f.max != nil {
			s["maximum"] = *f.max
		}
		if f.isName {
			target := s
			if items, ok := s["items"].(map[string]any); ok {
				target = items
			}
			target["maxLength"] = maxNameBytes // bytes to the decoder, characters to a schema: ASCII names agree
		}
		if f.given {
			required = append(required, f.name)
		}
		if f.required {
			required = append(required, f.name)
			if s["type"] == "string" {
				s["minLength"] = 1
			}
		}
		props[f.name] = s
	}
	return map[string]any{"type": "object", "properties": props, "required": required, "additionalProperties": false}
}

func (g *schemaGen) typeSchema(t reflect.Type) map[string]any {
	switch t {
	case reflect.TypeFor[Decimal]():
		return map[string]any{"anyOf": []any{
			map[string]any{"type": "number", "minimum": 0},
			map[string]any{"type": "string", "pattern": `^[0-9]+(\.[0-9]+)?$`},
		}}
	case rawMessageType:
		return map[string]any{"type": "object"}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return g.typeSchema(t.Elem())
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int64:
		return map[string]any{"type": "integer"}
	case reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": g.typeSchema(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "propertyNames": map[string]any{"maxLength": maxNameBytes}, "additionalProperties": g.typeSchema(t.Elem())}
	case reflect.Struct:
		if _, ok := g.defs[t.Name()]; !ok {
			g.defs[t.Name()] = nil // a placeholder against recursion
			g.defs[t.Name()] = g.object(t)
		}
		return map[string]any{"$ref": "#/$defs/" + t.Name()}
	}
	panic("manifest: no schema for " + t.String())
}

func TestSchemaIsUpToDate(t *testing.T) {
	want := generateSchema()
	if *update {
		require.NoError(t, os.WriteFile("schema.json", want, 0o644))
	}
	got, err := os.ReadFile("schema.json")
	require.NoError(t, err)
	require.Equal(t, string(want), string(got), "schema.json is out of date: go test ./manifest -run TestSchemaIsUpToDate -update")
	require.Equal(t, string(want), string(Schema()), "the embedded schema")
}
