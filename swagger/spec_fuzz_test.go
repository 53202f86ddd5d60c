package swagger

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// FuzzParseStructure: Parse without a schema check, as the agent build's
// management proxy reads its spec, never panics, and what it accepts is
// usable: known methods, routes that find every operation they were built
// from, and a selection that keeps them all.
func FuzzParseStructure(f *testing.F) {
	specs, _ := filepath.Glob(filepath.Join("testdata", "specs", "*"))
	for _, p := range specs {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("openapi: 3.0.0\npaths: {/a: {get: 1, post: [], x-y: {}}}\nservers: [{url: 'http://h/{v}/b', variables: {v: {default: 7}}}]\n"))
	f.Add([]byte(`{"swagger": "2.0", "basePath": 3, "paths": {"/a/{id}": {"parameters": [], "delete": {"security": [{"k": []}]}}}, "securityDefinitions": {"k": "x"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data, nil)
		if err != nil {
			return
		}
		for _, op := range s.Operations() {
			if !slices.Contains(methods[:], strings.ToLower(op.Method)) {
				t.Fatalf("operation %q has no known method", op)
			}
		}
		sel, err := s.Select(Selection{})
		if err != nil {
			t.Fatalf("an empty selection of an accepted spec: %v", err)
		}
		if len(sel.Kept()) != len(s.Operations()) {
			t.Fatalf("an empty selection kept %d of %d operations", len(sel.Kept()), len(s.Operations()))
		}
		routes := sel.Routes()
		for _, op := range s.Operations() {
			path := requestPath(s.BasePath(), op.Path)
			d, found := routes.Lookup(op.Method, path)
			if !found || d.Operation.Method != op.Method || !d.Kept {
				t.Fatalf("%s (base path %q): %s %s found=%v as %s kept=%v", op, s.BasePath(), op.Method, path, found, d.Operation, d.Kept)
			}
		}
		_ = s.SecuritySchemes()
		_ = sel.Document()
	})
}
