package threescale_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition/boltstore"
	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/threescale"
)

// oaDocument is the part of an OpenAPI document the tests read.
type oaDocument struct {
	OpenAPI    string                            `json:"openapi"`
	Info       map[string]any                    `json:"info"`
	Paths      map[string]map[string]oaOperation `json:"paths"`
	Tags       []struct{ Name string }           `json:"tags"`
	Security   []map[string][]string             `json:"security"`
	Components struct {
		SecuritySchemes map[string]map[string]string `json:"securitySchemes"`
	} `json:"components"`
}

type oaOperation struct {
	OperationID string   `json:"operationId"`
	Summary     string   `json:"summary"`
	Tags        []string `json:"tags"`
	Parameters  []struct {
		Name     string `json:"name"`
		In       string `json:"in"`
		Required bool   `json:"required"`
	} `json:"parameters"`
	Responses   map[string]json.RawMessage `json:"responses"`
	RequestBody json.RawMessage            `json:"requestBody"`
	Formats     []string                   `json:"x-formats"`
}

func (d oaDocument) operations() int {
	n := 0
	for _, ops := range d.Paths {
		n += len(ops)
	}
	return n
}

// oaRoutes is the route table of the API the coordinator runs: same code,
// built in process.
func oaRoutes(t *testing.T) []threescale.Route {
	t.Helper()
	store, err := boltstore.Open(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	return threescale.New(store, threescale.NewTokenChecker("x")).Routes()
}

func oaParse(t *testing.T, b []byte) oaDocument {
	t.Helper()
	var d oaDocument
	require.NoError(t, json.Unmarshal(b, &d), "%s", b)
	return d
}

var oaParam = regexp.MustCompile(`\{([^}]+)\}`)

func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	routes := oaRoutes(t)
	co := testenv.StartCoordinator(t)
	status, body := rawCall(t, co, http.MethodGet, "/admin/api/openapi.json", "", "")
	require.Equal(t, http.StatusOK, status, "%s", body)
	doc := oaParse(t, body)

	assert.True(t, strings.HasPrefix(doc.OpenAPI, "3.0."), doc.OpenAPI)
	assert.NotEmpty(t, doc.Info["title"])
	assert.NotEmpty(t, doc.Info["version"])
	assert.Equal(t, len(routes), doc.operations(), "one operation per route")
	assert.Equal(t, map[string]string{"type": "apiKey", "in": "query", "name": "access_token",
		"description": doc.Components.SecuritySchemes["access_token"]["description"]}, doc.Components.SecuritySchemes["access_token"])
	assert.Equal(t, "http", doc.Components.SecuritySchemes["basic"]["type"])
	assert.Equal(t, "basic", doc.Components.SecuritySchemes["basic"]["scheme"])
	assert.Contains(t, doc.Security, map[string][]string{"access_token": {}})
	assert.Contains(t, doc.Security, map[string][]string{"basic": {}})

	tags := map[string]bool{}
	for _, tg := range doc.Tags {
		tags[tg.Name] = true
	}
	ids := map[string]bool{}
	for _, rt := range routes {
		path := threescale.OpenAPIPath(rt)
		assert.True(t, strings.HasSuffix(path, ".json") || strings.HasSuffix(path, ".xml"), path)
		assert.NotContains(t, path, "...")
		op, ok := doc.Paths[path][strings.ToLower(rt.Method)]
		if !assert.True(t, ok, "%s %s missing as %s", rt.Method, rt.Path, path) {
			continue
		}
		assert.Equal(t, rt.Summary, op.Summary, path)
		assert.NotEmpty(t, op.Summary, path)
		assert.Equal(t, []string{rt.Tag}, op.Tags, path)
		assert.True(t, tags[rt.Tag], "tag %q not listed", rt.Tag)
		assert.False(t, ids[op.OperationID], "duplicate operationId %s", op.OperationID)
		ids[op.OperationID] = true
		want := rt.Status
		if want == 0 {
			want = http.StatusOK
		}
		assert.Contains(t, op.Responses, strconv.Itoa(want), "%s %s success status", rt.Method, path)
		var params []string
		for _, m := range oaParam.FindAllStringSubmatch(path, -1) {
			params = append(params, m[1])
		}
		var declared []string
		for _, p := range op.Parameters {
			assert.Equal(t, "path", p.In)
			assert.True(t, p.Required)
			declared = append(declared, p.Name)
		}
		assert.Equal(t, params, declared, "%s path parameters", path)
		switch rt.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch:
			assert.NotEmpty(t, op.RequestBody, path)
		}
		assert.NotEmpty(t, op.Formats, path)
	}

	// 3scale's suffixes and wildcards, for a few well-known operations.
	for _, want := range []struct{ method, path string }{
		{"get", "/admin/api/services/{service_id}/proxy.json"},
		{"post", "/admin/api/services/{service_id}/proxy/deploy.json"},
		{"post", "/admin/api/services/{service_id}/proxy/configs/{environment}/{version}/promote.json"},
		{"get", "/admin/api/account/proxy_configs/{environment}.json"},
		{"put", "/admin/api/registry/policies/{id}.json"},
		{"delete", "/admin/api/active_docs/{id}.json"},
		{"post", "/master/api/providers.json"},
		{"get", "/admin/api/openapi.json"},
	} {
		_, ok := doc.Paths[want.path][want.method]
		assert.True(t, ok, "%s %s", want.method, want.path)
	}
	deploy := doc.Paths["/admin/api/services/{service_id}/proxy/deploy.json"]["post"]
	assert.Contains(t, deploy.Responses, "201")
	assert.Equal(t, []string{"json", "xml"}, deploy.Formats)
	tenant := doc.Paths["/master/api/providers/{id}.json"]["get"]
	assert.Contains(t, tenant.Responses, "404")
	assert.NotContains(t, tenant.Responses, "200")

	// Behind the token like every route.
	resp, err := http.Get(co.URL + "/admin/api/openapi.json")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
}

// The description is generated: a route added to the table appears in it.
func TestOpenAPIFollowsTheRouteTable(t *testing.T) {
	routes := oaRoutes(t)
	before, err := threescale.OpenAPI(routes)
	require.NoError(t, err)
	added := threescale.Route{Method: http.MethodPost, Path: "/admin/api/widgets/{widget_id}/spin/{rest...}",
		Tag: "Widgets", Summary: "Widget Spin", Formats: []threescale.Format{threescale.XML}, Status: http.StatusCreated}
	after, err := threescale.OpenAPI(append(append([]threescale.Route(nil), routes...), added))
	require.NoError(t, err)

	b, a := oaParse(t, before), oaParse(t, after)
	assert.Equal(t, len(routes), b.operations())
	assert.Equal(t, len(routes)+1, a.operations())
	_, inBefore := b.Paths["/admin/api/widgets/{widget_id}/spin/{rest}.xml"]
	assert.False(t, inBefore)
	op, ok := a.Paths["/admin/api/widgets/{widget_id}/spin/{rest}.xml"]["post"]
	require.True(t, ok, "the added route is described")
	assert.Equal(t, "Widget Spin", op.Summary)
	assert.Equal(t, []string{"Widgets"}, op.Tags)
	assert.Contains(t, op.Responses, "201")
	assert.Equal(t, []string{"xml"}, op.Formats)
	require.Len(t, op.Parameters, 2)
	assert.Equal(t, "widget_id", op.Parameters[0].Name)
	assert.Equal(t, "rest", op.Parameters[1].Name)
	found := false
	for _, tg := range a.Tags {
		found = found || tg.Name == "Widgets"
	}
	assert.True(t, found, "the added tag is listed")
}
