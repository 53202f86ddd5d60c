package threescale_test

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/portolan/portolan/internal/testenv"
)

// The 3scale toolbox's `3scale import openapi -d remote petstore.yaml`, no
// other flag, replayed call by call as the toolbox (1.0.1: commands/
// import_command/openapi, ImportProductStep) makes them through the
// 3scale-api gem.

// tbOAS is what the toolbox reads of an OpenAPI 3 document (its OAS3
// parser): the first server's URL split into host and base path, the
// operations, and the one security requirement.
type tbOAS struct {
	doc                tbObj
	title, description string
	host, basePath     string // "https://host", "/v1"
	ops                []tbOp
	secName, secIn     string // the apiKey scheme's name and where it goes
}

type tbOp struct{ verb, path, operationID, description string }

var tbNonWord = regexp.MustCompile(`\W`)

func loadOAS(t *testing.T, file string) tbOAS {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "toolbox", file))
	require.NoError(t, err)
	var doc tbObj
	require.NoError(t, yaml.Unmarshal(raw, &doc))
	info := doc["info"].(tbObj)
	server, err := url.Parse(doc["servers"].([]any)[0].(tbObj)["url"].(string))
	require.NoError(t, err)
	spec := tbOAS{doc: doc, title: info["title"].(string), description: info["description"].(string),
		host: server.Scheme + "://" + server.Host, basePath: server.Path}
	paths := doc["paths"].(tbObj)
	for _, p := range slices.Sorted(maps.Keys(paths)) {
		for _, verb := range []string{"get", "put", "post", "delete", "patch"} {
			op, ok := paths[p].(tbObj)[verb].(tbObj)
			if !ok {
				continue
			}
			id, _ := op["operationId"].(string)
			desc, _ := op["description"].(string)
			spec.ops = append(spec.ops, tbOp{verb: verb, path: p, operationID: id, description: desc})
		}
	}
	req := doc["security"].([]any)[0].(tbObj)
	for name := range req {
		scheme := doc["components"].(tbObj)["securitySchemes"].(tbObj)[name].(tbObj)
		require.Equal(t, "apiKey", scheme["type"])
		spec.secName, spec.secIn = scheme["name"].(string), scheme["in"].(string)
	}
	return spec
}

// method is the toolbox's method of an operation: the operationId, else the
// verb and the path's word characters.
func (op tbOp) method() tbObj {
	friendly := op.operationID
	if friendly == "" {
		friendly = op.verb + tbNonWord.ReplaceAllString(op.path, "")
	}
	return tbObj{"friendly_name": friendly, "description": op.description,
		"system_name": tbNonWord.ReplaceAllString(strings.ToLower(friendly), "_")}
}

// importOpenAPI is `3scale import openapi -d remote file` and returns the
// service's id.
func (g tbGem) importOpenAPI(spec tbOAS) string {
	g.t.Helper()
	// CreateServiceStep: find by the title's system name, else create.
	systemName := tbNonWord.ReplaceAllString(strings.ToLower(spec.title), "_")
	settings := tbObj{"name": spec.title, "description": spec.description, "backend_version": "1", "system_name": systemName}
	var sid string
	if svc := g.serviceBySystemName(systemName); svc == nil {
		sid = tbID(g.write(http.MethodPost, "/admin/api/services", tbObj{"service": settings}, "service"))
	} else {
		sid = tbID(svc)
		g.write(http.MethodPut, "/admin/api/services/"+sid, tbObj{"service": settings}, "service")
	}
	base := "/admin/api/services/" + sid

	// UpdateServiceProxyStep: the private base URL and where the key goes.
	location := map[string]string{"query": "query", "header": "headers"}[spec.secIn]
	g.write(http.MethodPatch, base+"/proxy", tbObj{"proxy": tbObj{
		"api_backend": spec.host, "credentials_location": location, "auth_user_key": spec.secName}}, "proxy")

	// CreateMethodsStep: create the missing, update the existing.
	hits := tbBySystemName(g.list(base+"/metrics", nil, "metrics", "metric"), "hits")
	require.NotNil(g.t, hits)
	methodsPath := base + "/metrics/" + tbID(hits) + "/methods"
	existing := g.list(methodsPath, nil, "methods", "method")
	metricOf := map[string]string{}
	for _, op := range spec.ops {
		m := op.method()
		name := m["system_name"].(string)
		if found := tbBySystemName(existing, name); found != nil {
			metricOf[name] = tbID(g.write(http.MethodPut, methodsPath+"/"+tbID(found), tbObj{"metric": m}, "method"))
		} else {
			metricOf[name] = tbID(g.write(http.MethodPost, methodsPath, tbObj{"metric": m}, "method"))
		}
	}

	// DestroyMappingRulesTask, then CreateMappingRulesStep: strict patterns
	// under the base path.
	for _, r := range g.list(base+"/proxy/mapping_rules", nil, "mapping_rules", "mapping_rule") {
		_, ok := g.call(http.MethodDelete, base+"/proxy/mapping_rules/"+tbID(r), nil, nil)
		require.True(g.t, ok)
	}
	for _, op := range spec.ops {
		g.write(http.MethodPost, base+"/proxy/mapping_rules", tbObj{"mapping_rule": tbObj{
			"pattern": strings.TrimSuffix(spec.basePath, "/") + op.path + "$", "http_method": strings.ToUpper(op.verb),
			"delta": 1, "metric_id": json.Number(metricOf[op.method()["system_name"].(string)])}}, "mapping_rule")
	}

	// CreateActiveDocsStep: the document with its server moved to the
	// production public base URL; on "already taken", an update.
	proxy, ok := g.call(http.MethodGet, base+"/proxy", nil, nil)
	require.True(g.t, ok)
	endpoint, err := url.Parse(proxy.(tbObj)["proxy"].(tbObj)["endpoint"].(string))
	require.NoError(g.t, err)
	require.True(g.t, endpoint.IsAbs(), "URI.join needs an absolute endpoint, not %q", endpoint)
	doc := tbWithout(spec.doc)
	doc["servers"] = []any{tbObj{"url": endpoint.ResolveReference(&url.URL{Path: spec.basePath}).String()}}
	body, err := json.MarshalIndent(doc, "", "  ")
	require.NoError(g.t, err)
	activeDoc := tbObj{"name": spec.title, "system_name": systemName, "service_id": json.Number(sid), "body": string(body),
		"description": spec.description, "published": true, "skip_swagger_validations": nil}
	status, answer := g.answer(http.MethodPost, "/admin/api/active_docs", nil, activeDoc)
	if status == http.StatusUnprocessableEntity {
		taken, _ := answer.(tbObj)["errors"].(tbObj)["system_name"].([]any)
		require.Contains(g.t, taken, "has already been taken", "%v", answer)
		found := tbBySystemName(g.list("/admin/api/active_docs", nil, "api_docs", "api_doc"), systemName)
		require.NotNil(g.t, found)
		g.write(http.MethodPut, "/admin/api/active_docs/"+tbID(found), activeDoc, "api_doc")
	} else {
		require.Equal(g.t, http.StatusCreated, status, "%v", answer)
	}

	// UpdatePoliciesStep: with a security requirement and equal base
	// paths, the chain read stays as it is, so nothing is written.
	_, ok = g.call(http.MethodGet, base+"/proxy/policies", nil, nil)
	require.True(g.t, ok)

	// BumpProxyVersionTask: a harmless attribute, so the proxy's version moves.
	g.write(http.MethodPatch, base+"/proxy", tbObj{"proxy": tbObj{"service_id": json.Number(sid)}}, "proxy")
	return sid
}

// tbImported is what an import leaves, read back through the API.
type tbImported struct {
	service, proxy, activeDoc tbObj
	methods, rules, usages    []tbObj
	policies                  any
}

func (g tbGem) readImported(sid string) tbImported {
	g.t.Helper()
	base := "/admin/api/services/" + sid
	var out tbImported
	v, ok := g.call(http.MethodGet, base, nil, nil)
	require.True(g.t, ok)
	out.service = v.(tbObj)["service"].(tbObj)
	v, ok = g.call(http.MethodGet, base+"/proxy", nil, nil)
	require.True(g.t, ok)
	out.proxy = v.(tbObj)["proxy"].(tbObj)
	hits := tbBySystemName(g.list(base+"/metrics", nil, "metrics", "metric"), "hits")
	out.methods = g.list(base+"/metrics/"+tbID(hits)+"/methods", nil, "methods", "method")
	out.rules = g.list(base+"/proxy/mapping_rules", nil, "mapping_rules", "mapping_rule")
	for _, d := range g.list("/admin/api/active_docs", nil, "api_docs", "api_doc") {
		if tbJSON(d["service_id"]) == sid {
			require.Nil(g.t, out.activeDoc, "one ActiveDoc for the service")
			out.activeDoc = d
		}
	}
	v, ok = g.call(http.MethodGet, base+"/backend_usages", nil, nil)
	require.True(g.t, ok)
	for _, u := range v.([]any) {
		out.usages = append(out.usages, u.(tbObj)["backend_usage"].(tbObj))
	}
	v, ok = g.call(http.MethodGet, base+"/proxy/policies", nil, nil)
	require.True(g.t, ok)
	out.policies = v.(tbObj)["policies_config"]
	return out
}

func TestToolboxImportOpenAPITwice(t *testing.T) {
	co := testenv.StartCoordinator(t)
	g := tbGem{t: t, co: co}
	spec := loadOAS(t, "petstore.yaml")

	sid := g.importOpenAPI(spec)
	first := g.readImported(sid)

	assert.Equal(t, "Pet Store", first.service["name"])
	assert.Equal(t, "pet_store", first.service["system_name"])
	assert.Equal(t, "Pets to list, add and look up.", first.service["description"])
	assert.Equal(t, "1", first.service["backend_version"])

	var methods []string
	for _, m := range first.methods {
		methods = append(methods, m["system_name"].(string)+"|"+m["friendly_name"].(string)+"|"+m["description"].(string))
	}
	assert.ElementsMatch(t, []string{"listpets|listPets|Lists the pets.", "addpet|addPet|Adds a pet.", "getpetspetid|getpetspetId|"}, methods)
	methodName := map[string]string{}
	for _, m := range first.methods {
		methodName[tbID(m)] = m["system_name"].(string)
	}
	var rules []string
	for _, r := range first.rules {
		rules = append(rules, r["http_method"].(string)+" "+r["pattern"].(string)+" "+methodName[tbJSON(r["metric_id"])]+" "+tbJSON(r["delta"]))
	}
	assert.ElementsMatch(t, []string{"GET /v1/pets$ listpets 1", "POST /v1/pets$ addpet 1", "GET /v1/pets/{petId}$ getpetspetid 1"}, rules)

	for _, k := range []string{"endpoint", "sandbox_endpoint"} {
		e, _ := first.proxy[k].(string)
		u, err := url.Parse(e)
		require.NoError(t, err)
		assert.True(t, u.IsAbs(), "proxy %s %q", k, e)
	}
	assert.Equal(t, "https://petstore.example.com", first.proxy["api_backend"])
	assert.Equal(t, "query", first.proxy["credentials_location"])
	assert.Equal(t, "user_key", first.proxy["auth_user_key"])
	require.Len(t, first.usages, 1, "the private base URL makes the default backend")

	// The last step's proxy update put it all in the sandbox's newest config,
	// which the gateway serves.
	v, ok := g.call(http.MethodGet, "/admin/api/services/"+sid+"/proxy/configs/sandbox/latest", nil, nil)
	require.True(t, ok, "a sandbox config")
	var deployed []string
	for _, r := range v.(tbObj)["proxy_config"].(tbObj)["content"].(tbObj)["proxy"].(tbObj)["proxy_rules"].([]any) {
		deployed = append(deployed, r.(tbObj)["http_method"].(string)+" "+r.(tbObj)["pattern"].(string))
	}
	assert.ElementsMatch(t, []string{"GET /v1/pets$", "POST /v1/pets$", "GET /v1/pets/{petId}$"}, deployed)
	assert.Equal(t, "user_key", v.(tbObj)["proxy_config"].(tbObj)["content"].(tbObj)["proxy"].(tbObj)["auth_user_key"])

	require.NotNil(t, first.activeDoc, "the import ends with the ActiveDoc")
	assert.Equal(t, "pet_store", first.activeDoc["system_name"])
	assert.Equal(t, "Pet Store", first.activeDoc["name"])
	assert.Equal(t, true, first.activeDoc["published"])
	var stored tbObj
	require.NoError(t, json.Unmarshal([]byte(first.activeDoc["body"].(string)), &stored))
	assert.Equal(t, spec.doc["paths"], stored["paths"], "the ActiveDoc holds the spec")
	assert.Equal(t, []any{tbObj{"url": first.proxy["endpoint"].(string) + "/v1"}}, stored["servers"])

	// The second run finds the service by system name and updates it: the
	// same service, methods and ActiveDoc; the mapping rules replaced by
	// equal ones; no second backend; the policy chain untouched.
	assert.Equal(t, sid, g.importOpenAPI(spec))
	second := g.readImported(sid)
	stable := func(o tbObj) tbObj { return tbWithout(o, "updated_at", "lock_version", "links") }
	assert.Equal(t, stable(first.service), stable(second.service))
	assert.Equal(t, stable(first.proxy), stable(second.proxy))
	assert.Equal(t, len(first.methods), len(second.methods))
	for i := range first.methods {
		assert.Equal(t, stable(first.methods[i]), stable(second.methods[i]))
	}
	ruleKeys := func(rs []tbObj) []any {
		var out []any
		for _, r := range rs {
			out = append(out, tbWithout(r, "id", "created_at", "updated_at", "links", "position"))
		}
		return out
	}
	assert.ElementsMatch(t, ruleKeys(first.rules), ruleKeys(second.rules))
	assert.Equal(t, tbID(first.activeDoc), tbID(second.activeDoc))
	assert.Equal(t, first.activeDoc["body"], second.activeDoc["body"])
	assert.Equal(t, first.usages, second.usages)
	assert.Equal(t, first.policies, second.policies)
	assert.Len(t, g.list("/admin/api/services", nil, "services", "service"), 1)
}
