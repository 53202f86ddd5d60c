package swagger

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/swagger/openapischema"
)

// parseChecked parses data with the schema check Portolan's full build uses.
func parseChecked(data []byte) (*Spec, error) { return Parse(data, openapischema.Check) }

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "specs", name))
	require.NoError(t, err)
	return b
}

func parseTestdata(t testing.TB, name string) *Spec {
	t.Helper()
	s, err := parseChecked(readTestdata(t, name))
	require.NoError(t, err, name)
	return s
}

func opStrings(ops []Operation) []string {
	out := make([]string, len(ops))
	for i, op := range ops {
		out[i] = op.String()
	}
	return out
}

func TestParseThreescaleSpec(t *testing.T) {
	s, err := parseChecked(testenv.ThreescaleFile(t, "account_management_api.json"))
	require.NoError(t, err)
	assert.Equal(t, "3.1.1", s.Version())
	assert.Equal(t, "Account Management API", s.Title())
	assert.Equal(t, "", s.BasePath(), `servers [{url: "/"}] has no base path`)
	assert.Empty(t, s.SecuritySchemes(), "the 3scale spec declares no security requirement")

	ops := s.Operations()
	require.Len(t, ops, 203)
	paths := map[string]bool{}
	for i, op := range ops {
		paths[op.Path] = true
		assert.Empty(t, op.ID, "the 3scale spec has no operationIds")
		assert.NotEmpty(t, op.Tags, op.String())
		if i > 0 {
			prev := ops[i-1]
			assert.True(t, prev.Path < op.Path || (prev.Path == op.Path && prev.Method < op.Method),
				"operations sorted by path then method: %s before %s", prev, op)
		}
	}
	assert.Len(t, paths, 118)
	assert.Contains(t, opStrings(ops), "GET /admin/api/services/{id}.xml")

	// JSON is the whole document and reads back the same.
	var orig, again map[string]any
	require.NoError(t, json.Unmarshal(testenv.ThreescaleFile(t, "account_management_api.json"), &orig))
	require.NoError(t, json.Unmarshal(s.JSON(), &again))
	assert.Equal(t, orig, again)
}

func TestParseSmallSpecs(t *testing.T) {
	tests := []struct {
		file        string
		version     string
		title       string
		description string
		basePath    string
		ops         []string
		ids         []string
		schemes     []SecurityScheme
	}{
		{
			file: "petstore-2.0.json", version: "2.0", title: "Pet Store",
			description: "A small Swagger 2.0 API for the swagger package's tests.",
			basePath:    "/v2",
			ops: []string{"GET /pets", "POST /pets", "DELETE /pets/{petId}", "GET /pets/{petId}",
				"GET /store/orders/{orderId}", "GET /store/stats"},
			ids:     []string{"listPets", "createPet", "deletePet", "getPet", "getOrder", "storeStats"},
			schemes: []SecurityScheme{{Name: "api_key", Type: "apiKey", In: "header", ParamName: "X-Api-Key"}},
		},
		{
			file: "shop-3.0.yaml", version: "3.0.3", title: "Shop", description: "Orders, items and reports.",
			basePath: "/shop/v1", // the first server, its variables at their defaults
			ops: []string{"GET /orders.json", "POST /orders.json", "GET /orders/latest.json",
				"DELETE /orders/{id}.json", "GET /orders/{id}.json", "GET /orders/{id}/items/{item}",
				"GET /reports/{from}-{to}.csv"},
			ids: []string{"listOrders", "createOrder", "latestOrder", "deleteOrder", "getOrder",
				"getOrderItem", "getReport"},
			schemes: []SecurityScheme{
				{Name: "app_id", Type: "apiKey", In: "header", ParamName: "X-App-Id"},
				{Name: "app_key", Type: "apiKey", In: "header", ParamName: "X-App-Key"},
			},
		},
		{
			file: "library-3.1.yaml", version: "3.1.0", title: "Library",
			ops:     []string{"GET /books", "DELETE /books/{isbn}", "GET /books/{isbn}", "GET /shelves/{shelf}/tree"},
			ids:     []string{"", "", "", ""},
			schemes: []SecurityScheme{{Name: "oidc", Type: "openIdConnect", OpenIDConnectURL: "https://id.example.com/.well-known/openid-configuration"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			s := parseTestdata(t, tt.file)
			assert.Equal(t, tt.version, s.Version())
			assert.Equal(t, tt.title, s.Title())
			assert.Equal(t, tt.description, s.Description())
			assert.Equal(t, tt.basePath, s.BasePath())
			assert.Equal(t, tt.ops, opStrings(s.Operations()))
			var ids []string
			for _, op := range s.Operations() {
				ids = append(ids, op.ID)
			}
			assert.Equal(t, tt.ids, ids)
			assert.Equal(t, tt.schemes, s.SecuritySchemes())

			// JSON() is JSON, whatever the input was, and parses again to
			// the same spec.
			again, err := parseChecked(s.JSON())
			require.NoError(t, err)
			assert.Equal(t, s.Operations(), again.Operations())
			assert.Equal(t, s.JSON(), again.JSON())
		})
	}
}

func TestParseTagsAndSummaries(t *testing.T) {
	s := parseTestdata(t, "petstore-2.0.json")
	for _, op := range s.Operations() {
		if op.ID == "deletePet" {
			assert.Equal(t, []string{"pets", "admin"}, op.Tags)
			assert.Equal(t, "Delete a pet", op.Summary)
			return
		}
	}
	t.Fatal("deletePet not found")
}

func TestParseNewsAPI(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "examples", "newsapi", "openapi.yaml"))
	require.NoError(t, err)
	s, err := parseChecked(data)
	require.NoError(t, err)
	assert.Equal(t, "3.0.3", s.Version())
	assert.Equal(t, "News API", s.Title())
	assert.Equal(t, "", s.BasePath(), "the server URL has no path")
	assert.Equal(t, []string{"GET /articles", "POST /articles", "GET /articles/{id}", "GET /health"}, opStrings(s.Operations()))
	assert.Equal(t, []SecurityScheme{{Name: "user_key", Type: "apiKey", In: "query", ParamName: "user_key"}}, s.SecuritySchemes())
}

func TestParseSecuritySchemesFromOperations(t *testing.T) {
	// No global requirement: the operations' schemes, in order of first use.
	s, err := parseChecked([]byte(`
openapi: 3.0.0
info: {title: t, version: "1"}
paths:
  /a:
    get:
      security: [{bearer: []}, {basic: []}]
      responses: {"200": {description: ok}}
  /b:
    get:
      security: [{basic: []}, {oauth: [read]}]
      responses: {"200": {description: ok}}
components:
  securitySchemes:
    basic: {type: http, scheme: Basic}
    bearer: {type: http, scheme: bearer, bearerFormat: JWT}
    oauth:
      type: oauth2
      flows: {clientCredentials: {tokenUrl: "https://id.example.com/token", scopes: {read: r}}}
    unused: {type: apiKey, in: query, name: k}
`))
	require.NoError(t, err)
	assert.Equal(t, []SecurityScheme{
		{Name: "bearer", Type: "http", Scheme: "bearer"},
		{Name: "basic", Type: "http", Scheme: "basic"},
		{Name: "oauth", Type: "oauth2"},
	}, s.SecuritySchemes())
}

func TestParseUnquotedYAMLKeys(t *testing.T) {
	// Unquoted status codes are integers in YAML; JSON would have strings.
	s, err := parseChecked([]byte("openapi: 3.0.0\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    get:\n      responses:\n        200:\n          description: ok\n"))
	require.NoError(t, err)
	assert.Contains(t, string(s.JSON()), `"responses":{"200":{"description":"ok"}}`)
	s, err = parseChecked([]byte("swagger: '2.0'\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    get:\n      responses:\n        404:\n          description: no\n"))
	require.NoError(t, err)
	assert.Equal(t, []string{"GET /a"}, opStrings(s.Operations()))

	// Other problems are still reported, by path.
	_, err = parseChecked([]byte("openapi: 3.0.0\ninfo: {title: t, version: 1.0}\npaths:\n  /a:\n    get:\n      responses:\n        200:\n          description: ok\n"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "$.info.version")
}

func TestParseBasePaths(t *testing.T) {
	tests := []struct{ servers, want string }{
		{`[{url: /}]`, ""},
		{`[]`, ""},
		{`[{url: "https://api.example.com"}]`, ""},
		{`[{url: "https://api.example.com/"}]`, ""},
		{`[{url: "https://api.example.com/api/v2/"}]`, "/api/v2"},
		{`[{url: "/api?x=1"}]`, "/api"},
		{`[{url: "//cdn.example.com/base"}]`, "/base"},
		{`[{url: "api/v1"}]`, "/api/v1"},
		{`[{url: "{scheme}://h/{v}", variables: {scheme: {default: https}, v: {default: v3}}}]`, "/v3"},
	}
	for _, tt := range tests {
		s, err := parseChecked([]byte("openapi: 3.0.0\ninfo: {title: t, version: '1'}\npaths: {}\nservers: " + tt.servers + "\n"))
		require.NoError(t, err, tt.servers)
		assert.Equal(t, tt.want, s.BasePath(), tt.servers)
	}
	s, err := parseChecked([]byte(`{"swagger": "2.0", "info": {"title": "t", "version": "1"}, "basePath": "/", "paths": {}}`))
	require.NoError(t, err)
	assert.Equal(t, "", s.BasePath())
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		name string
		data string
		want []string // every one in the error
	}{
		{"empty", "  \n", []string{"empty"}},
		{"not a document", "[1, 2]", []string{"not an object"}},
		{"bad JSON", `{"openapi": "3.0.0", "info": {`, []string{"parse JSON"}},
		{"bad YAML", "openapi: 3.0.0\ninfo: [unclosed\n", []string{"parse YAML"}},
		{"no version", `{"info": {"title": "t", "version": "1"}, "paths": {}}`, []string{`neither "openapi" nor "swagger"`}},
		{"OpenAPI 2.5", `{"openapi": "2.5.0", "info": {"title": "t", "version": "1"}, "paths": {}}`, []string{"unsupported OpenAPI version 2.5.0"}},
		{"Swagger 1.2", `{"swagger": "1.2", "info": {"title": "t", "version": "1"}, "paths": {}}`, []string{"unsupported Swagger version 1.2"}},
		{"numeric version", "openapi: 3.1\ninfo: {title: t, version: '1'}\npaths: {}\n", []string{"unsupported OpenAPI version 3.1"}},
		{"schema", string(readTestdata(t, "invalid-schema-3.0.yaml")), []string{
			"OpenAPI 3.0.3", "does not match the OpenAPI schema", "'version'", "$.paths['/things'].get.responses"}},
		{"dangling reference", string(readTestdata(t, "invalid-ref-3.1.json")), []string{
			"resolve references", "#/components/schemas/Missing"}},
		{"Swagger schema", `{"swagger": "2.0", "info": {"title": "t", "version": "1"}, "paths": {"/a": {"get": {}}}}`, []string{
			"Swagger 2.0", "does not match", "responses"}},
		{"YAML bomb", yamlBomb(), []string{"more than"}},
		{"deep nesting", strings.Repeat("[", 300) + strings.Repeat("]", 300), []string{"parse YAML"}},
		{"deep JSON", `{"openapi": "3.0.0", "x": ` + strings.Repeat(`{"a":`, 300) + "1" + strings.Repeat("}", 300) + "}", []string{"deeper than"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseChecked([]byte(tt.data))
			require.Error(t, err)
			assert.Contains(t, err.Error(), "invalid spec")
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

// yamlBomb is a "billion laughs" document: a few hundred bytes that expand
// to 10^9 values through aliases.
func yamlBomb() string {
	var b strings.Builder
	b.WriteString("openapi: 3.0.0\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 10; i++ {
		b.WriteString("a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	return b.String()
}

// YAML merge keys ("<<") count against the same bound as aliases: a
// document that fans merges out over empty mappings is refused quickly.
func TestParseBoundsYAMLMergeKeys(t *testing.T) {
	var b strings.Builder
	b.WriteString("openapi: 3.0.3\ninfo: {title: bomb, version: \"1\"}\npaths: {}\nx-l0: &l0 {}\n")
	for i := 1; i <= 9; i++ {
		refs := strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*l%d, ", i-1), 10), ", ")
		fmt.Fprintf(&b, "x-l%d: &l%d {<<: [%s]}\n", i, i, refs)
	}
	doc := []byte(b.String())
	done := make(chan error, 1)
	go func() {
		_, err := Parse(doc, nil)
		done <- err
	}()
	select {
	case err := <-done:
		require.Error(t, err, "a %d-byte document of 10^9 merges", len(doc))
		assert.Contains(t, err.Error(), "aliases and merges expanded")
	case <-time.After(5 * time.Second):
		t.Fatalf("Parse of a %d-byte document of merge keys still running after 5s: merges are not bounded", len(doc))
	}
}

// Merge keys still work: keys of the mapping win over merged ones, and
// earlier merged mappings over later ones.
func TestParseYAMLMergeKeys(t *testing.T) {
	s, err := Parse([]byte(`openapi: 3.0.3
info: {title: merge, version: "1"}
x-base: &base {summary: base, operationId: baseOp, tags: [a]}
x-more: &more {operationId: moreOp, description: more}
paths:
  /a:
    get:
      <<: [*base, *more]
      operationId: getA
  /b:
    get:
      <<: [*more, *base]
`), nil)
	require.NoError(t, err)
	ops := s.Operations()
	require.Len(t, ops, 2)
	assert.Equal(t, "getA", ops[0].ID)
	assert.Equal(t, "base", ops[0].Summary)
	assert.Equal(t, []string{"a"}, ops[0].Tags)
	assert.Equal(t, "moreOp", ops[1].ID)
	assert.Equal(t, "base", ops[1].Summary)
}

func TestParseTooLarge(t *testing.T) {
	_, err := parseChecked(make([]byte, MaxSpecSize+1))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "larger than 16 MiB")
}

func TestLoadFile(t *testing.T) {
	s, err := Load(context.Background(), filepath.Join("testdata", "specs", "shop-3.0.yaml"), openapischema.Check)
	require.NoError(t, err)
	assert.Equal(t, "Shop", s.Title())

	_, err = Load(context.Background(), filepath.Join("testdata", "specs", "nope.yaml"), openapischema.Check)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "nope.yaml")

	_, err = Load(context.Background(), filepath.Join("testdata", "specs", "invalid-ref-3.1.json"), openapischema.Check)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "invalid-ref-3.1.json")
	assert.Contains(t, err.Error(), "Missing")

	_, err = Load(context.Background(), "", openapischema.Check)
	require.Error(t, err)
}

func TestLoadURL(t *testing.T) {
	shop := readTestdata(t, "shop-3.0.yaml")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/shop.yaml":
			w.Header().Set("Content-Type", "application/yaml")
			_, _ = w.Write(shop)
		case "/huge.json":
			_, _ = w.Write([]byte(`{"openapi": "3.0.0", "x": "`))
			_, _ = w.Write(make([]byte, MaxSpecSize))
		case "/slow.json":
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)

	s, err := Load(context.Background(), srv.URL+"/shop.yaml", openapischema.Check)
	require.NoError(t, err)
	assert.Equal(t, "Shop", s.Title())
	assert.Len(t, s.Operations(), 7)

	_, err = Load(context.Background(), srv.URL+"/missing.json?token=secret", openapischema.Check)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "404 Not Found")
	assert.Contains(t, err.Error(), "/missing.json")
	assert.NotContains(t, err.Error(), "secret", "a URL's query may hold a credential")

	u := strings.Replace(srv.URL, "http://", "http://user:hunter2@", 1)
	_, err = Load(context.Background(), u+"/missing.json", openapischema.Check)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "hunter2")

	_, err = Load(context.Background(), srv.URL+"/huge.json", openapischema.Check)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "larger than 16 MiB")

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = Load(ctx, srv.URL+"/slow.json", openapischema.Check)
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 5*time.Second)
}
