package swagger

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

func TestRoutesLookup(t *testing.T) {
	s := parseTestdata(t, "shop-3.0.yaml")
	routes := mustSelect(t, s, nil, nil).Routes()
	tests := []struct {
		method, path string
		want         string // the operationId; "" = not found
	}{
		{"GET", "/shop/v1/orders.json", "listOrders"},
		{"POST", "/shop/v1/orders.json", "createOrder"},
		{"GET", "/shop/v1/orders/42.json", "getOrder"},               // a suffix parameter
		{"GET", "/shop/v1/orders/latest.json", "latestOrder"},        // a literal wins over {id}.json
		{"DELETE", "/shop/v1/orders/latest.json", "deleteOrder"},     // ... unless it lacks the method
		{"GET", "/shop/v1/orders/42/items/x-1", "getOrderItem"},      // two parameters
		{"GET", "/shop/v1/reports/2024-01-2024-02.csv", "getReport"}, // two parameters in one segment
		{"GET", "/shop/v1/orders/a.json.json", "getOrder"},           // {id} = "a.json"
		{"GET", "/orders.json", ""},                                  // no base path
		{"GET", "/shop/v1", ""},                                      // the base path alone
		{"GET", "/shop/v1/orders/.json", ""},                         // a parameter is never empty
		{"GET", "/shop/v1/orders/42.xml", ""},                        // wrong suffix
		{"GET", "/shop/v1/orders/42", ""},                            // no suffix
		{"GET", "/shop/v1/orders/42/items", ""},                      // too short
		{"GET", "/shop/v1/orders/42/items/7/x", ""},                  // too long
		{"GET", "/shop/v1/orders/42.json/", ""},                      // a trailing slash: not normalised
		{"GET", "/shop/v1//orders.json", ""},                         // an empty segment: not normalised
		{"GET", "/shop/v1/reports/2024.csv", ""},                     // the - between the parameters
		{"PUT", "/shop/v1/orders.json", ""},                          // no such method on the path
		{"get", "/shop/v1/orders.json", ""},                          // methods are upper case
		{"BREW", "/shop/v1/orders.json", ""},                         // not a method
		{"GET", "shop/v1/orders.json", ""},                           // not a path
		{"GET", "", ""},                                              //
		{"GET", "/SHOP/v1/orders.json", ""},                          // case matters
		{"GET", "/shop/v1/orders%2Ejson", ""},                        // no decoding here
		{"GET", "/shop/v1/orders/42/items/7?x=1", "getOrderItem"},    // "7?x=1" is one segment: callers strip queries
	}
	for _, tt := range tests {
		d, found := routes.Lookup(tt.method, tt.path)
		if tt.want == "" {
			assert.False(t, found, "%s %s found %s", tt.method, tt.path, d.Operation)
			assert.Equal(t, Decision{}, d)
			continue
		}
		if assert.True(t, found, "%s %s", tt.method, tt.path) {
			assert.Equal(t, tt.want, d.Operation.ID, "%s %s", tt.method, tt.path)
			assert.True(t, d.Kept)
		}
	}
}

func TestRoutesLookupOmitted(t *testing.T) {
	s := parseTestdata(t, "shop-3.0.yaml")
	routes := mustSelect(t, s, []string{"tag:orders"}, []string{"DELETE **"}).Routes()

	d, found := routes.Lookup("GET", "/shop/v1/orders/42.json")
	require.True(t, found)
	assert.True(t, d.Kept)
	assert.Equal(t, "tag:orders", d.Rule)

	// 403 naming the rule, not 404.
	d, found = routes.Lookup("DELETE", "/shop/v1/orders/42.json")
	require.True(t, found)
	assert.False(t, d.Kept)
	assert.Equal(t, "DELETE **", d.Rule)
	assert.Equal(t, "/orders/{id}.json", d.Operation.Path)

	d, found = routes.Lookup("GET", "/shop/v1/reports/a-b.csv")
	require.True(t, found)
	assert.False(t, d.Kept)
	assert.Equal(t, NotIncluded, d.Rule)

	_, found = routes.Lookup("PATCH", "/shop/v1/orders/42.json")
	assert.False(t, found, "404: the spec has no such operation at all")
}

func TestRoutesLookupBasePathSwagger2(t *testing.T) {
	s := parseTestdata(t, "petstore-2.0.json")
	routes := mustSelect(t, s, []string{"tag:pets"}, nil).Routes()
	d, found := routes.Lookup("GET", "/v2/pets/7")
	require.True(t, found)
	assert.Equal(t, "getPet", d.Operation.ID)
	d, found = routes.Lookup("GET", "/v2/store/stats")
	require.True(t, found)
	assert.False(t, d.Kept)
	_, found = routes.Lookup("GET", "/pets/7")
	assert.False(t, found)
}

func TestRoutesLookupRootPath(t *testing.T) {
	s, err := parseChecked([]byte(`{"openapi": "3.0.0", "info": {"title": "t", "version": "1"},
		"servers": [{"url": "https://h.example.com/api/"}],
		"paths": {"/": {"get": {"operationId": "root", "responses": {"200": {"description": "ok"}}}},
		          "/{a}/{b}": {"get": {"operationId": "ab", "responses": {"200": {"description": "ok"}}}},
		          "/x/{b}": {"put": {"operationId": "xb", "responses": {"200": {"description": "ok"}}}}}}`))
	require.NoError(t, err)
	routes := mustSelect(t, s, nil, nil).Routes()
	d, found := routes.Lookup("GET", "/api")
	require.True(t, found)
	assert.Equal(t, "root", d.Operation.ID)
	d, found = routes.Lookup("GET", "/api/x/y")
	require.True(t, found, "a literal that fails deeper backtracks to the parameter")
	assert.Equal(t, "ab", d.Operation.ID)
	d, found = routes.Lookup("PUT", "/api/x/y")
	require.True(t, found)
	assert.Equal(t, "xb", d.Operation.ID)
}

func TestRoutesLookupThreescale(t *testing.T) {
	s, err := parseChecked(testenv.ThreescaleFile(t, "account_management_api.json"))
	require.NoError(t, err)
	routes := mustSelect(t, s, []string{"tag:Services", "tag:Accounts"}, []string{"DELETE **"}).Routes()

	// Every operation is found at its own template with made-up values.
	for _, op := range s.Operations() {
		path := fillTemplate(op.Path)
		d, found := routes.Lookup(op.Method, path)
		require.True(t, found, "%s %s", op.Method, path)
		assert.Equal(t, op.Method, d.Operation.Method)
		assert.Equal(t, strings.Count(op.Path, "/"), strings.Count(d.Operation.Path, "/"), "%s %s → %s", op.Method, path, d.Operation)
	}

	d, found := routes.Lookup("GET", "/admin/api/accounts/find.xml")
	require.True(t, found)
	assert.Equal(t, "/admin/api/accounts/find.xml", d.Operation.Path, "the literal, not {id}.xml")
	d, found = routes.Lookup("GET", "/admin/api/accounts/42.xml")
	require.True(t, found)
	assert.Equal(t, "/admin/api/accounts/{id}.xml", d.Operation.Path)
	assert.True(t, d.Kept)
	d, found = routes.Lookup("DELETE", "/admin/api/services/2/metrics/3/methods/4.xml")
	require.True(t, found)
	assert.False(t, d.Kept)
	assert.Equal(t, "DELETE **", d.Rule)
	d, found = routes.Lookup("GET", "/admin/api/backend_apis.json")
	require.True(t, found)
	assert.False(t, d.Kept)
	assert.Equal(t, NotIncluded, d.Rule)
	_, found = routes.Lookup("GET", "/admin/api/nothing.xml")
	assert.False(t, found)
}

// Lookup of a segment against a template with several parameters in one
// segment takes time linear in the segment, not one try per way to split it.
func TestRoutesLookupIsLinearInSegmentParameters(t *testing.T) {
	s, err := Parse([]byte(`openapi: 3.0.3
info: {title: blog, version: "1"}
paths:
  /archive/{year}-{month}-{day}-{slug}.json:
    get:
      operationId: getPost
      responses: {"200": {description: ok}}
`), nil)
	require.NoError(t, err)
	routes := mustSelect(t, s, nil, nil).Routes()
	_, found := routes.Lookup("GET", "/archive/2024-01-02-hello.json")
	require.True(t, found, "the plain path")
	_, found = routes.Lookup("GET", "/archive/2024-01-02-my-post.json")
	require.True(t, found, "a slug with dashes")

	path := "/archive/" + strings.Repeat("-", 2000)
	done := make(chan bool, 1)
	go func() {
		_, found := routes.Lookup("GET", path)
		done <- found
	}()
	select {
	case found := <-done:
		assert.False(t, found, "a segment of dashes has no .json")
	case <-time.After(3 * time.Second):
		t.Fatalf("Lookup of one %d-byte path still running after 3s", len(path))
	}
}

// Templates that differ only in a parameter's name are one route; when one
// of them is omitted, its calls are refused whichever twin is kept.
func TestRoutesOmittedTwinTemplateDecides(t *testing.T) {
	s, err := Parse([]byte(`openapi: 3.0.3
info: {title: dup, version: "1"}
paths:
  /admin/api/users/{id}.json:
    get:
      operationId: readUser
      responses: {"200": {description: ok}}
  /admin/api/users/{user_id}.json:
    get:
      operationId: readUserSecrets
      responses: {"200": {description: ok}}
`), nil)
	require.NoError(t, err)
	for _, omitted := range []string{"readUserSecrets", "readUser"} { // the later twin, then the earlier
		d, found := mustSelect(t, s, nil, []string{"op:" + omitted}).Routes().Lookup("GET", "/admin/api/users/1.json")
		require.True(t, found)
		assert.False(t, d.Kept, "let through as %s although its twin op:%s is omitted", d.Operation, omitted)
		assert.Equal(t, "op:"+omitted, d.Rule)
	}
	d, found := mustSelect(t, s, nil, nil).Routes().Lookup("GET", "/admin/api/users/1.json")
	require.True(t, found)
	assert.True(t, d.Kept)
	assert.Equal(t, "readUser", d.Operation.ID, "with both kept, the first in Operations order decides")
}

// HEAD on a template with a GET operation and no HEAD operation of its own
// gets the GET operation's decision, as Rails routes it; templates keep
// their order (a literal wins over a parameter) whichever method decides.
func TestRoutesLookupHeadFallsBackToGet(t *testing.T) {
	s, err := Parse([]byte(`openapi: 3.0.3
info: {title: head, version: "1"}
paths:
  /items/{id}:
    get: {operationId: getItem, responses: {"200": {description: ok}}}
    delete: {operationId: deleteItem, responses: {"200": {description: ok}}}
  /items/{id}/raw:
    get: {operationId: getRaw, responses: {"200": {description: ok}}}
    head: {operationId: headRaw, responses: {"200": {description: ok}}}
  /files/latest:
    get: {operationId: getLatest, responses: {"200": {description: ok}}}
  /files/{name}:
    head: {operationId: headFile, responses: {"200": {description: ok}}}
  /things:
    post: {operationId: createThing, responses: {"200": {description: ok}}}
`), nil)
	require.NoError(t, err)
	routes := mustSelect(t, s, nil, []string{"op:getItem"}).Routes()
	tests := []struct {
		path string
		want string // operationId; "" = not found
	}{
		{"/items/7", "getItem"},
		{"/items/7/raw", "headRaw"},
		{"/files/latest", "getLatest"}, // the literal wins, with its GET
		{"/files/a.txt", "headFile"},
		{"/things", ""}, // no GET to fall back to
	}
	for _, tt := range tests {
		d, found := routes.Lookup("HEAD", tt.path)
		if tt.want == "" {
			assert.False(t, found, "HEAD %s found %s", tt.path, d.Operation)
			continue
		}
		if assert.True(t, found, "HEAD %s", tt.path) {
			assert.Equal(t, tt.want, d.Operation.ID, "HEAD %s", tt.path)
		}
	}
	d, _ := routes.Lookup("HEAD", "/items/7")
	assert.False(t, d.Kept, "HEAD of an omitted GET is refused with it")
	assert.Equal(t, "op:getItem", d.Rule)
}

// fillTemplate replaces every {param} with a value.
func fillTemplate(p string) string {
	var b strings.Builder
	n := 0
	for {
		i := strings.IndexByte(p, '{')
		if i < 0 {
			b.WriteString(p)
			return b.String()
		}
		j := strings.IndexByte(p[i:], '}')
		if j < 0 { // an unclosed {: taken literally
			b.WriteString(p)
			return b.String()
		}
		b.WriteString(p[:i])
		n++
		fmt.Fprintf(&b, "%d", 100+n)
		p = p[i+j+1:]
	}
}

func TestRoutesConcurrent(t *testing.T) {
	s := parseTestdata(t, "shop-3.0.yaml")
	routes := mustSelect(t, s, nil, []string{"DELETE **"}).Routes()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				d, found := routes.Lookup("GET", "/shop/v1/orders/42.json")
				if !found || d.Operation.ID != "getOrder" {
					t.Error("concurrent lookup failed")
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestRoutesLookupAllocs(t *testing.T) {
	s := parseTestdata(t, "shop-3.0.yaml")
	routes := mustSelect(t, s, nil, nil).Routes()
	allocs := testing.AllocsPerRun(100, func() {
		routes.Lookup("GET", "/shop/v1/reports/2024-01-2024-02.csv")
		routes.Lookup("DELETE", "/shop/v1/orders/latest.json")
		routes.Lookup("GET", "/shop/v1/nope")
	})
	assert.Zero(t, allocs)
}

// BenchmarkRoutesLookup looks up a mix of 3scale Account Management API
// requests: literal paths, one and three parameters, and a miss. The
// baseline is a map lookup of the same method and path, the least any
// route table costs.
func BenchmarkRoutesLookup(b *testing.B) {
	s, err := parseChecked(testenv.ThreescaleFile(b, "account_management_api.json"))
	require.NoError(b, err)
	sel, err := ParseSelection([]string{"tag:Services", "tag:Accounts"}, []string{"DELETE **"})
	require.NoError(b, err)
	selected, err := s.Select(sel)
	require.NoError(b, err)
	routes := selected.Routes()
	reqs := []struct{ method, path string }{
		{"GET", "/admin/api/services.xml"},
		{"GET", "/admin/api/accounts/find.xml"},
		{"PUT", "/admin/api/services/42.xml"},
		{"DELETE", "/admin/api/services/2/metrics/3/methods/4.xml"},
		{"GET", "/admin/api/account_plans/7/features.xml"},
		{"GET", "/admin/api/no/such/route.xml"},
	}
	b.Run("trie", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			r := reqs[i%len(reqs)]
			routes.Lookup(r.method, r.path)
		}
	})
	b.Run("baseline=map", func(b *testing.B) {
		exact := map[string]Decision{}
		for _, d := range selected.Decisions() {
			exact[d.Operation.Method+" "+fillTemplate(d.Operation.Path)] = d
		}
		keys := make([]string, len(reqs))
		for i, r := range reqs {
			keys[i] = r.method + " " + r.path
		}
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			_ = exact[keys[i%len(keys)]]
		}
	})
}
