package swagger_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/3scale/3scale-porta-go-client/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/portolan/portolan/internal/testenv"
)

// importCLI runs `portolan import openapi` against c and returns its
// combined output.
func importCLI(t *testing.T, c *testenv.Coordinator, args ...string) (string, error) {
	t.Helper()
	args = append([]string{"import", "openapi"}, args...)
	args = append(args, "--home", c.URL, "--token", c.Token, "--timeout", "30s")
	out, err := exec.Command(testenv.Binary(t), args...).CombinedOutput()
	return string(out), err
}

func mustImport(t *testing.T, c *testenv.Coordinator, args ...string) string {
	t.Helper()
	out, err := importCLI(t, c, args...)
	require.NoError(t, err, out)
	return out
}

// service is what the coordinator's 3scale API shows of an imported service,
// read with the official client.
type service struct {
	product client.ProductItem
	proxy   client.ProxyItem
	methods map[string]client.MethodItem // by system_name
	rules   map[string]string            // method system_name → "VERB pattern delta"
	ruleIDs map[string]int64             // method system_name → rule id
	doc     client.ActiveDocItem
}

func readService(t *testing.T, c *testenv.Coordinator, systemName string) *service {
	t.Helper()
	cl := c.Client(t)
	products, err := cl.ListProducts()
	require.NoError(t, err)
	s := &service{methods: map[string]client.MethodItem{}, rules: map[string]string{}, ruleIDs: map[string]int64{}}
	for _, p := range products.Products {
		if p.Element.SystemName == systemName {
			s.product = p.Element
		}
	}
	require.NotZero(t, s.product.ID, "no service %s", systemName)
	id := s.product.ID
	proxy, err := cl.ProductProxy(id)
	require.NoError(t, err)
	s.proxy = proxy.Element
	metrics, err := cl.ListProductMetrics(id)
	require.NoError(t, err)
	var hits int64
	for _, m := range metrics.Metrics {
		if m.Element.SystemName == "hits" {
			hits = m.Element.ID
		}
	}
	require.NotZero(t, hits)
	methods, err := cl.ListProductMethods(id, hits)
	require.NoError(t, err)
	byID := map[int64]string{}
	for _, m := range methods.Methods {
		s.methods[m.Element.SystemName] = m.Element
		byID[m.Element.ID] = m.Element.SystemName
	}
	rules, err := cl.ListProductMappingRules(id)
	require.NoError(t, err)
	for _, r := range rules.MappingRules {
		name, ok := byID[r.Element.MetricID]
		require.True(t, ok, "rule %+v is not on a method", r.Element)
		require.NotContains(t, s.rules, name, "two rules on method %s", name)
		s.rules[name] = strings.Join([]string{r.Element.HTTPMethod, r.Element.Pattern, strconv.Itoa(r.Element.Delta)}, " ")
		s.ruleIDs[name] = r.Element.ID
	}
	docs, err := cl.ListActiveDocs()
	require.NoError(t, err)
	for _, d := range docs.ActiveDocs {
		if d.Element.SystemName != nil && *d.Element.SystemName == systemName {
			s.doc = d.Element
		}
	}
	require.NotNil(t, s.doc.ID, "no ActiveDoc %s", systemName)
	return s
}

// yamlOrJSON decodes a spec file (JSON is YAML).
func yamlOrJSON(b []byte, v any) error { return yaml.Unmarshal(b, v) }

func sample(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("testdata", "import", name))
	require.NoError(t, err)
	return p
}

// TestImportOpenAPISamples imports a Swagger 2.0, an OpenAPI 3.0, an OpenAPI
// 3.1 sample and the demo news API into one coordinator, checks the methods,
// rules, proxy and ActiveDocs through its 3scale API, then imports each again
// and checks that nothing was written.
func TestImportOpenAPISamples(t *testing.T) {
	c := testenv.StartCoordinator(t)
	news, err := filepath.Abs("../examples/newsapi/openapi.yaml")
	require.NoError(t, err)
	type rule struct{ method, rule string }
	for _, tc := range []struct {
		file, service, name, backend string
		flags                        []string
		proxy                        func(*testing.T, client.ProxyItem)
		methods                      map[string]rule // system_name → friendly name, rule
	}{{
		file: sample(t, "petstore-swagger2.json"), service: "pet_store", name: "Pet Store", backend: "2",
		proxy: func(t *testing.T, p client.ProxyItem) {
			assert.Equal(t, "X-App-Id", p.AuthAppID)
			assert.Equal(t, "X-App-Key", p.AuthAppKey)
			assert.Equal(t, "headers", p.CredentialsLocation)
		},
		methods: map[string]rule{
			"listPets":                          {"List pets", "GET /v2/pets$ 1"},
			"addPet":                            {"Add a pet", "POST /v2/pets$ 1"},
			"getPet":                            {"Get a pet", "GET /v2/pets/{petId}$ 1"},
			"delete_pets_petid":                 {"Remove a pet", "DELETE /v2/pets/{petId}$ 1"},
			"get_pets_petid_photos_photoid_jpg": {"get_pets_petid_photos_photoid_jpg", "GET /v2/pets/{petId}/photos/{photoId}.jpg$ 1"},
		},
	}, {
		file: sample(t, "library-openapi30.yaml"), service: "city_library", name: "City Library", backend: "oidc",
		proxy: func(t *testing.T, p client.ProxyItem) {
			assert.Equal(t, "https://sso.example.com/realms/library", p.OidcIssuerEndpoint)
		},
		methods: map[string]rule{
			"listBooks": {"List books", "GET /api/v1/books$ 1"},
			"addBook":   {"Add a book", "POST /api/v1/books$ 1"},
			"getBook":   {"Get a book", "GET /api/v1/books/{isbn}$ 1"},
			"lendBook":  {"Lend a book", "POST /api/v1/books/{isbn}/loans$ 1"},
		},
	}, {
		file: sample(t, "notes-openapi31.yaml"), service: "team_notes", name: "Team Notes", backend: "1",
		proxy: func(t *testing.T, p client.ProxyItem) {
			assert.Equal(t, "X-Notes-Key", p.AuthUserKey)
			assert.Equal(t, "headers", p.CredentialsLocation)
		},
		methods: map[string]rule{
			"listNotes": {"List notes", "GET /notes$ 1"},
			"getNote":   {"Get a note", "GET /notes/{noteId}$ 1"},
			"putNote":   {"Replace a note", "PUT /notes/{noteId}$ 1"},
		},
	}, {
		file: news, service: "news", name: "News API", backend: "1", flags: []string{"--service", "news"},
		proxy: func(t *testing.T, p client.ProxyItem) {
			assert.Equal(t, "user_key", p.AuthUserKey)
			assert.Equal(t, "query", p.CredentialsLocation)
		},
		methods: map[string]rule{
			"listArticles":  {"List articles", "GET /articles$ 1"},
			"createArticle": {"Add an article", "POST /articles$ 1"},
			"getArticle":    {"Get one article", "GET /articles/{id}$ 1"},
			"health":        {"Liveness check", "GET /health$ 1"},
		},
	}} {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			out := mustImport(t, c, append([]string{tc.file}, tc.flags...)...)
			assert.Contains(t, out, "create service")

			s := readService(t, c, tc.service)
			assert.Equal(t, tc.name, s.product.Name)
			assert.Equal(t, tc.backend, s.product.BackendVersion)
			tc.proxy(t, s.proxy)
			require.Len(t, s.methods, len(tc.methods))
			for sys, want := range tc.methods {
				assert.Equal(t, want.method, s.methods[sys].Name, "friendly name of %s", sys)
				assert.Equal(t, want.rule, s.rules[sys], "rule of %s", sys)
			}
			require.NotNil(t, s.doc.ServiceID)
			assert.Equal(t, s.product.ID, *s.doc.ServiceID)
			assert.Equal(t, tc.name, *s.doc.Name)
			assert.True(t, *s.doc.Published)
			spec, err := os.ReadFile(tc.file)
			require.NoError(t, err)
			var fromSpec, fromDoc map[string]any
			require.NoError(t, yamlOrJSON(spec, &fromSpec))
			require.NoError(t, json.Unmarshal([]byte(*s.doc.Body), &fromDoc))
			assert.Equal(t, fromSpec["info"], fromDoc["info"], "the ActiveDoc holds the spec")
			assert.Equal(t, len(fromSpec["paths"].(map[string]any)), len(fromDoc["paths"].(map[string]any)))

			// Idempotent: the second import writes nothing.
			rev := c.Revision(t)
			out = mustImport(t, c, append([]string{tc.file}, tc.flags...)...)
			assert.Contains(t, out, "up to date")
			assert.Equal(t, rev, c.Revision(t), "a re-import wrote: %s", out)
		})
	}
}

// TestImportOpenAPIChangedSpec: importing a changed spec updates changed
// operations in place, deletes the method and rule of a removed one, adds a
// new one; importing it again writes nothing.
func TestImportOpenAPIChangedSpec(t *testing.T) {
	c := testenv.StartCoordinator(t)
	mustImport(t, c, sample(t, "library-openapi30.yaml"))
	before := readService(t, c, "city_library")
	require.Contains(t, before.methods, "lendBook")

	out := mustImport(t, c, sample(t, "library-openapi30-v2.yaml"))
	assert.Contains(t, out, `delete method "lendBook"`)
	after := readService(t, c, "city_library")
	assert.NotContains(t, after.methods, "lendBook", "the removed operation's method is gone")
	assert.NotContains(t, after.rules, "lendBook")
	for _, r := range after.rules {
		assert.NotContains(t, r, "/loans", "the removed operation's rule is gone")
	}
	assert.Len(t, after.rules, 4)
	assert.Equal(t, "Look up a book by ISBN", after.methods["getBook"].Name, "the changed operation is updated")
	assert.Equal(t, before.methods["getBook"].ID, after.methods["getBook"].ID, "in place")
	assert.Equal(t, before.ruleIDs["getBook"], after.ruleIDs["getBook"])
	assert.Equal(t, "GET /api/v1/members/{memberId}$ 1", after.rules["get_members_memberid"], "the new operation is added")
	assert.Equal(t, *before.doc.ID, *after.doc.ID)
	assert.Contains(t, *after.doc.Body, "2.2.0")

	rev := c.Revision(t)
	out = mustImport(t, c, sample(t, "library-openapi30-v2.yaml"))
	assert.Contains(t, out, "up to date")
	assert.Equal(t, rev, c.Revision(t))

	// Back to the first version, as a dry run: the plan, and no write.
	out = mustImport(t, c, sample(t, "library-openapi30.yaml"), "--dry-run")
	assert.Contains(t, out, `delete method "get_members_memberid"`)
	assert.Contains(t, out, `create method "lendBook"`)
	assert.Contains(t, out, "dry run")
	assert.Equal(t, rev, c.Revision(t), "--dry-run wrote")
	assert.Contains(t, readService(t, c, "city_library").methods, "get_members_memberid")
}

// TestImportOpenAPIDryRun: a dry run on a fresh coordinator prints the whole
// plan and creates nothing.
func TestImportOpenAPIDryRun(t *testing.T) {
	c := testenv.StartCoordinator(t)
	rev := c.Revision(t)
	out := mustImport(t, c, sample(t, "petstore-swagger2.json"), "--dry-run")
	for _, want := range []string{
		`create service "pet_store"`, `update proxy "pet_store" auth_app_id=X-App-Id auth_app_key=X-App-Key credentials_location=headers`,
		`create method "listPets"`, `create mapping_rule "GET /v2/pets$"`, `create active_doc "pet_store"`, "dry run",
	} {
		assert.Contains(t, out, want)
	}
	assert.Equal(t, rev, c.Revision(t))
	products, err := c.Client(t).ListProducts()
	require.NoError(t, err)
	for _, p := range products.Products {
		assert.NotEqual(t, "pet_store", p.Element.SystemName)
	}
}

// TestImportOpenAPIPrefixMatching: --prefix-matching drops the '$'; importing
// without it again puts it back on the same rules.
func TestImportOpenAPIPrefixMatching(t *testing.T) {
	c := testenv.StartCoordinator(t)
	mustImport(t, c, sample(t, "notes-openapi31.yaml"), "--prefix-matching")
	s := readService(t, c, "team_notes")
	assert.Equal(t, "GET /notes 1", s.rules["listNotes"])
	assert.Equal(t, "PUT /notes/{noteId} 1", s.rules["putNote"])

	mustImport(t, c, sample(t, "notes-openapi31.yaml"))
	s2 := readService(t, c, "team_notes")
	assert.Equal(t, "GET /notes$ 1", s2.rules["listNotes"])
	assert.Equal(t, s.ruleIDs, s2.ruleIDs, "updated in place")
}

// TestImportOpenAPIErrors: a wrong token fails without echoing it; a missing
// spec fails naming it.
func TestImportOpenAPIErrors(t *testing.T) {
	c := testenv.StartCoordinator(t)
	bin := testenv.Binary(t)
	const wrong = "wrong-token-d41d8cd9"
	out, err := exec.Command(bin, "import", "openapi", sample(t, "notes-openapi31.yaml"), "--home", c.URL, "--token", wrong).CombinedOutput()
	require.Error(t, err)
	assert.Contains(t, string(out), "403")
	assert.NotContains(t, string(out), wrong)

	out2, err := importCLI(t, c, filepath.Join(t.TempDir(), "missing.yaml"))
	require.Error(t, err)
	assert.Contains(t, out2, "missing.yaml")

	out3, err := importCLI(t, c)
	require.Error(t, err)
	assert.Contains(t, out3, "want one FILE or URL argument")
}

// TestImportOpenAPIThreescaleSpec imports the real 3scale Account Management
// API spec (OpenAPI 3.1, tags, no operationIds): a method and a rule per
// operation, and a second import writes nothing.
func TestImportOpenAPIThreescaleSpec(t *testing.T) {
	body := testenv.ThreescaleFile(t, "account_management_api.json")
	file := filepath.Join(t.TempDir(), "account_management_api.json")
	require.NoError(t, os.WriteFile(file, body, 0o600))
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(body, &doc))
	ops := 0
	for _, item := range doc.Paths {
		for m := range item {
			if strings.Contains(" get put post delete options head patch trace ", " "+m+" ") {
				ops++
			}
		}
	}
	require.Greater(t, ops, 100)

	c := testenv.StartCoordinator(t)
	mustImport(t, c, file, "--service", "threescale")
	s := readService(t, c, "threescale")
	assert.Len(t, s.methods, ops)
	assert.Len(t, s.rules, ops)
	assert.Equal(t, "GET /admin/api/services/{service_id}/backend_usages/{id}.json$ 1", s.rules["get_admin_api_services_service_id_backend_usages_id_json"])

	rev := c.Revision(t)
	assert.Contains(t, mustImport(t, c, file, "--service", "threescale"), "up to date")
	assert.Equal(t, rev, c.Revision(t))
}
