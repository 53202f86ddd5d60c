package swagger

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

func mustSelect(t testing.TB, s *Spec, include, omit []string) *Selected {
	t.Helper()
	sel, err := ParseSelection(include, omit)
	require.NoError(t, err)
	out, err := s.Select(sel)
	require.NoError(t, err)
	return out
}

// rawOp is an operation read straight from the JSON, for counts made
// independently of the package.
type rawOp struct {
	method, path string
	tags         []string
}

func rawOperations(t *testing.T, data []byte) []rawOp {
	t.Helper()
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(data, &doc))
	var ops []rawOp
	for p, item := range doc.Paths {
		for m, raw := range item {
			if !slices.Contains([]string{"get", "put", "post", "delete", "patch", "head", "options", "trace"}, m) {
				continue
			}
			var op struct{ Tags []string }
			require.NoError(t, json.Unmarshal(raw, &op))
			ops = append(ops, rawOp{strings.ToUpper(m), p, op.Tags})
		}
	}
	return ops
}

func TestSelectThreescaleCounts(t *testing.T) {
	data := testenv.ThreescaleFile(t, "account_management_api.json")
	s, err := parseChecked(data)
	require.NoError(t, err)
	raw := rawOperations(t, data)
	require.Len(t, raw, 203)

	hasTag := func(tag string) func(rawOp) bool {
		return func(op rawOp) bool { return slices.Contains(op.tags, tag) }
	}
	tests := []struct {
		name          string
		include, omit []string
		want          int              // counted by hand (and by a script over the JSON)
		independent   func(rawOp) bool // the same selection, written plainly
	}{
		{"no rules", nil, nil, 203, func(rawOp) bool { return true }},
		{"a tag", []string{"tag:Services"}, nil, 15, hasTag("Services")},
		{"a method under a prefix", []string{"GET /admin/api/services/**"}, nil, 21,
			func(op rawOp) bool { return op.method == "GET" && strings.HasPrefix(op.path, "/admin/api/services/") }},
		{"one segment only", []string{"GET /admin/api/services/*"}, nil, 1,
			func(op rawOp) bool {
				return op.method == "GET" && strings.HasPrefix(op.path, "/admin/api/services/") &&
					strings.Count(op.path, "/") == 4
			}},
		{"a tag with a space, writes omitted", []string{`tag:"Application Plans"`}, []string{"DELETE **"}, 16,
			func(op rawOp) bool { return hasTag("Application Plans")(op) && op.method != "DELETE" }},
		{"any method under accounts", []string{"* /admin/api/accounts/**"}, nil, 47,
			func(op rawOp) bool { return strings.HasPrefix(op.path, "/admin/api/accounts/") }},
		{"omit only", nil, []string{"DELETE **"}, 171, func(op rawOp) bool { return op.method != "DELETE" }},
		{"two tags minus accounts", []string{"tag:Services", "tag:Accounts"}, []string{"* /admin/api/accounts/**"}, 17,
			func(op rawOp) bool {
				return (hasTag("Services")(op) || hasTag("Accounts")(op)) && !strings.HasPrefix(op.path, "/admin/api/accounts/")
			}},
		{"JSON endpoints", []string{"* /**/*.json"}, nil, 61, func(op rawOp) bool { return strings.HasSuffix(op.path, ".json") }},
		{"reads but not services", []string{"GET **"}, []string{"* /admin/api/services/**"}, 58,
			func(op rawOp) bool { return op.method == "GET" && !strings.HasPrefix(op.path, "/admin/api/services/") }},
		{"everything omitted", nil, []string{"* **"}, 0, func(rawOp) bool { return false }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := 0
			for _, op := range raw {
				if tt.independent(op) {
					n++
				}
			}
			require.Equal(t, tt.want, n, "the plain count disagrees with the hand count")

			sel := mustSelect(t, s, tt.include, tt.omit)
			assert.Len(t, sel.Kept(), tt.want)
			decisions := sel.Decisions()
			require.Len(t, decisions, 203)
			kept := 0
			for i, d := range decisions {
				assert.Equal(t, s.Operations()[i], d.Operation, "decisions in Operations order")
				if d.Kept {
					kept++
				}
			}
			assert.Equal(t, tt.want, kept)

			// The filtered document is valid and holds exactly the kept
			// operations.
			again, err := parseChecked(sel.Document())
			require.NoError(t, err)
			assert.Equal(t, sel.Kept(), again.Operations())
		})
	}
}

func TestSelectDecisionRules(t *testing.T) {
	s, err := parseChecked(testenv.ThreescaleFile(t, "account_management_api.json"))
	require.NoError(t, err)
	sel := mustSelect(t, s, []string{`tag:"Application Plans"`, "tag:Services"}, []string{"delete **"})
	byOp := map[string]Decision{}
	for _, d := range sel.Decisions() {
		byOp[d.Operation.String()] = d
	}
	assert.Equal(t, Decision{Operation: byOp["GET /admin/api/services.xml"].Operation, Kept: true, Rule: "tag:Services"},
		byOp["GET /admin/api/services.xml"])
	assert.Equal(t, "tag:Application Plans", byOp["GET /admin/api/application_plans.xml"].Rule)
	assert.True(t, byOp["GET /admin/api/application_plans.xml"].Kept)
	d := byOp["DELETE /admin/api/services/{id}.xml"]
	assert.False(t, d.Kept)
	assert.Equal(t, "DELETE **", d.Rule, "the omit that decided")
	d = byOp["GET /admin/api/accounts/find.xml"]
	assert.False(t, d.Kept)
	assert.Equal(t, NotIncluded, d.Rule)

	all := mustSelect(t, s, nil, nil)
	for _, d := range all.Decisions() {
		assert.True(t, d.Kept)
		assert.Empty(t, d.Rule, "kept because there are no includes")
	}
}

func documentOf(t *testing.T, sel *Selected) map[string]any {
	t.Helper()
	var doc map[string]any
	require.NoError(t, json.Unmarshal(sel.Document(), &doc))
	return doc
}

func keysAt(doc map[string]any, path ...string) []string {
	var v any = doc
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	m, _ := v.(map[string]any)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func TestSelectThreescaleDropsUnusedSchemas(t *testing.T) {
	s, err := parseChecked(testenv.ThreescaleFile(t, "account_management_api.json"))
	require.NoError(t, err)

	// The Services operations use the two service request schemas, and
	// nothing else; AccountUpdateRequest is used only by an account
	// operation.
	sel := mustSelect(t, s, []string{"tag:Services"}, nil)
	doc := documentOf(t, sel)
	assert.Equal(t, []string{"ServiceCreateRequest", "ServiceUpdateRequest"}, keysAt(doc, "components", "schemas"))
	assert.Len(t, keysAt(doc, "paths"), 6, "paths left with no operation are removed")
	_, err = parseChecked(sel.Document())
	require.NoError(t, err)

	// Omitting the one operation that uses a schema drops it; the other
	// stays.
	sel = mustSelect(t, s, []string{"tag:Services"}, []string{"PUT **"})
	doc = documentOf(t, sel)
	assert.Equal(t, []string{"ServiceCreateRequest"}, keysAt(doc, "components", "schemas"))

	// No kept operation uses a schema: components goes.
	sel = mustSelect(t, s, []string{"GET **"}, nil)
	doc = documentOf(t, sel)
	assert.NotContains(t, doc, "components")
	again, err := parseChecked(sel.Document())
	require.NoError(t, err)
	assert.Len(t, again.Operations(), 79)
	assert.Equal(t, "3.1.1", again.Version())
	assert.Equal(t, s.Title(), again.Title())
}

func TestSelectPrunesSwagger2(t *testing.T) {
	s := parseTestdata(t, "petstore-2.0.json")

	sel := mustSelect(t, s, []string{"tag:pets"}, nil)
	doc := documentOf(t, sel)
	assert.Equal(t, []string{"/pets", "/pets/{petId}"}, keysAt(doc, "paths"))
	assert.Equal(t, []string{"Category", "Error", "Pet"}, keysAt(doc, "definitions"), "Order and Stats go; Category through Pet, Error through a response")
	assert.Equal(t, []string{"petId"}, keysAt(doc, "parameters"))
	assert.Equal(t, []string{"NotFound"}, keysAt(doc, "responses"))
	assert.Equal(t, []string{"api_key", "basic_auth"}, keysAt(doc, "securityDefinitions"), "global and deletePet's; the unused oauth goes")
	assert.Equal(t, []any{
		map[string]any{"name": "pets", "description": "Pets."},
		map[string]any{"name": "admin", "description": "Store administration."},
	}, doc["tags"], "store was used only by omitted operations")
	again, err := parseChecked(sel.Document())
	require.NoError(t, err)
	assert.Equal(t, "/v2", again.BasePath())
	assert.Equal(t, []string{"listPets", "createPet", "deletePet", "getPet"}, opIDs(again.Operations()))

	sel = mustSelect(t, s, []string{"op:getOrder"}, nil)
	doc = documentOf(t, sel)
	assert.Equal(t, []string{"/store/orders/{orderId}"}, keysAt(doc, "paths"))
	assert.Equal(t, []string{"Category", "Error", "Order", "Pet"}, keysAt(doc, "definitions"))
	assert.Equal(t, []string{"orderId"}, keysAt(doc, "parameters"))
	assert.Equal(t, []string{"api_key"}, keysAt(doc, "securityDefinitions"))
	_, err = parseChecked(sel.Document())
	require.NoError(t, err)

	// Nothing kept: an empty, still valid spec.
	sel = mustSelect(t, s, nil, []string{"* **"})
	doc = documentOf(t, sel)
	assert.Empty(t, keysAt(doc, "paths"))
	assert.NotContains(t, doc, "definitions")
	assert.NotContains(t, doc, "tags")
	_, err = parseChecked(sel.Document())
	require.NoError(t, err)
}

func opIDs(ops []Operation) []string {
	out := make([]string, len(ops))
	for i, op := range ops {
		out[i] = op.ID
	}
	return out
}

func TestSelectPrunesOpenAPI30(t *testing.T) {
	s := parseTestdata(t, "shop-3.0.yaml")
	sel := mustSelect(t, s, []string{"op:listOrders"}, nil)
	doc := documentOf(t, sel)
	assert.Equal(t, []string{"/orders.json"}, keysAt(doc, "paths"))
	assert.Equal(t, []string{"get"}, keysAt(doc, "paths", "/orders.json"))
	assert.Equal(t, []string{"200", "429"}, keysAt(doc, "paths", "/orders.json", "get", "responses"), "the YAML merge key is applied")
	assert.Equal(t, []string{"schemas", "securitySchemes"}, keysAt(doc, "components"))
	assert.Equal(t, []string{"Book", "Item", "Order"}, keysAt(doc, "components", "schemas"), "Book through the discriminator mapping")
	assert.Equal(t, []string{"app_id", "app_key"}, keysAt(doc, "components", "securitySchemes"))
	again, err := parseChecked(sel.Document())
	require.NoError(t, err)
	assert.Equal(t, "/shop/v1", again.BasePath())
	assert.Len(t, again.SecuritySchemes(), 2)

	sel = mustSelect(t, s, []string{"* /orders/{id}.json"}, []string{"DELETE **"})
	doc = documentOf(t, sel)
	assert.Equal(t, []string{"parameters", "responses", "schemas", "securitySchemes"}, keysAt(doc, "components"))
	assert.Equal(t, []string{"Book", "Error", "Item", "Order"}, keysAt(doc, "components", "schemas"))
	_, err = parseChecked(sel.Document())
	require.NoError(t, err)
}

func TestSelectPrunesOpenAPI31(t *testing.T) {
	s := parseTestdata(t, "library-3.1.yaml")
	// /books/{isbn} is a reference to a path item: omitting one of its
	// operations inlines it, and the path item component goes.
	sel := mustSelect(t, s, nil, []string{"DELETE **"})
	doc := documentOf(t, sel)
	assert.Equal(t, []string{"get", "parameters"}, keysAt(doc, "paths", "/books/{isbn}"))
	assert.Equal(t, []string{"schemas", "securitySchemes"}, keysAt(doc, "components"))
	assert.Equal(t, []string{"Book", "Shelf"}, keysAt(doc, "components", "schemas"))
	assert.Contains(t, doc, "webhooks")
	again, err := parseChecked(sel.Document())
	require.NoError(t, err)
	assert.Equal(t, []string{"GET /books", "GET /books/{isbn}", "GET /shelves/{shelf}/tree"}, opStrings(again.Operations()))

	// Keeping all leaves the document as it was.
	sel = mustSelect(t, s, nil, nil)
	assert.JSONEq(t, string(s.JSON()), string(sel.Document()))
}

func TestSelectRuleErrors(t *testing.T) {
	s, err := parseChecked(testenv.ThreescaleFile(t, "account_management_api.json"))
	require.NoError(t, err)

	_, err = ParseSelection([]string{"tag:Services", "GET admin"}, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `include rule "GET admin"`)
	assert.Contains(t, err.Error(), "does not start with /")
	_, err = ParseSelection(nil, []string{"FETCH /a"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `omit rule "FETCH /a"`)

	sel, err := ParseSelection([]string{"tag:services"}, []string{"op:deleteService"})
	require.NoError(t, err)
	_, err = s.Select(sel)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `include rule "tag:services" matches no operation of the spec (did you mean tag:Services?)`)
	assert.Contains(t, err.Error(), `omit rule "op:deleteService" matches no operation`)

	_, err = s.Select(Selection{Include: []Rule{{}}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "empty")
}

func TestSelectWithoutPathsOrComponents(t *testing.T) {
	// OpenAPI 3.1 needs no paths: a webhooks-only document.
	s, err := parseChecked([]byte(`{"openapi": "3.1.0", "info": {"title": "hooks", "version": "1"},
		"webhooks": {"ping": {"post": {"responses": {"200": {"description": "ok"}}}}}}`))
	require.NoError(t, err)
	assert.Empty(t, s.Operations())
	sel := mustSelect(t, s, nil, nil)
	assert.Empty(t, sel.Kept())
	_, found := sel.Routes().Lookup("POST", "/ping")
	assert.False(t, found)
	again, err := parseChecked(sel.Document())
	require.NoError(t, err)
	assert.Equal(t, "hooks", again.Title())
}

// A kept path item that is a reference to a wholly omitted one keeps its
// operations in the filtered document.
func TestFilteredDocumentKeepsReferencedPathItems(t *testing.T) {
	s, err := Parse([]byte(`openapi: 3.1.0
info: {title: refs, version: "1"}
paths:
  /v2/items:
    $ref: '#/paths/~1v1~1items'
  /v1/items:
    get:
      operationId: listItems
      responses: {"200": {description: ok}}
`), nil)
	require.NoError(t, err)
	sel := mustSelect(t, s, nil, []string{"GET /v1/items"})
	require.Equal(t, []string{"GET /v2/items"}, opStrings(sel.Kept()))
	doc, err := Parse(sel.Document(), nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"GET /v2/items"}, opStrings(doc.Operations()), "the filtered document:\n%s", sel.Document())
}

// Path items that refer to a path no rule touches stay references: N of
// them never write N copies of what they refer to.
func TestFilteredDocumentCopiesOnlyReferencesIntoOmittedPaths(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"openapi":"3.0.0","info":{"title":"refs","version":"1"},"paths":{`)
	fmt.Fprintf(&b, `"/big":{"get":{"operationId":"big","description":%q,"responses":{"200":{"description":"ok"}}}}`,
		strings.Repeat("x", 20<<10))
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&b, `,"/p%d":{"$ref":"#/paths/~1big"}`, i)
	}
	b.WriteString(`}}`)
	in := b.String()
	s, err := Parse([]byte(in), nil)
	if err != nil {
		t.Fatal(err)
	}
	sel, err := s.Select(Selection{}) // nothing omitted
	if err != nil {
		t.Fatal(err)
	}
	doc := sel.Document()
	if len(doc) > 4*len(in) {
		t.Fatalf("a %d-byte spec, nothing omitted, gives a %d-byte filtered document (%dx)", len(in), len(doc), len(doc)/len(in))
	}
}

// Copies of an omitted path that kept paths refer to count against the
// document's bound on values: Select refuses rather than build them.
func TestFilteredDocumentBoundsCopiesOfOmittedPaths(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"openapi":"3.0.0","info":{"title":"refs","version":"1"},"paths":{`)
	fmt.Fprintf(&b, `"/big":{"x-list":[%s0],"get":{"operationId":"big","responses":{"200":{"description":"ok"}}}}`,
		strings.Repeat("0,", 3000))
	for i := range 1000 {
		fmt.Fprintf(&b, `,"/p%d":{"$ref":"#/paths/~1big"}`, i)
	}
	b.WriteString(`}}`)
	s, err := Parse([]byte(b.String()), nil)
	require.NoError(t, err)
	rule, err := ParseRule("GET /big")
	require.NoError(t, err)
	_, err = s.Select(Selection{Omit: []Rule{rule}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "would copy more than")
}
