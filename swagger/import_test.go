package swagger

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// importSample parses a spec of testdata/import, or a path relative to the
// package.
func importSample(t *testing.T, name string) *Spec {
	t.Helper()
	path := filepath.Join("testdata", "import", name)
	if strings.Contains(name, "/") {
		path = name
	}
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	s, err := parseChecked(b)
	require.NoError(t, err, name)
	return s
}

func TestImportTargetOfSamples(t *testing.T) {
	type method struct{ sys, friendly, rule string }
	for _, tc := range []struct {
		file, service, name, backend string
		proxy                        []proxyField
		skipValidation               bool
		methods                      []method
	}{{
		file: "petstore-swagger2.json", service: "pet_store", name: "Pet Store", backend: "2",
		proxy: []proxyField{{"auth_app_id", "X-App-Id"}, {"auth_app_key", "X-App-Key"}, {"credentials_location", "headers"}},
		methods: []method{
			{"listPets", "List pets", "GET /v2/pets$"},
			{"addPet", "Add a pet", "POST /v2/pets$"},
			{"delete_pets_petid", "Remove a pet", "DELETE /v2/pets/{petId}$"},
			{"getPet", "Get a pet", "GET /v2/pets/{petId}$"},
			{"get_pets_petid_photos_photoid_jpg", "get_pets_petid_photos_photoid_jpg", "GET /v2/pets/{petId}/photos/{photoId}.jpg$"},
		},
	}, {
		file: "library-openapi30.yaml", service: "city_library", name: "City Library", backend: "oidc",
		proxy: []proxyField{{"oidc_issuer_endpoint", "https://sso.example.com/realms/library"}},
		methods: []method{
			{"listBooks", "List books", "GET /api/v1/books$"},
			{"addBook", "Add a book", "POST /api/v1/books$"},
			{"getBook", "Get a book", "GET /api/v1/books/{isbn}$"},
			{"lendBook", "Lend a book", "POST /api/v1/books/{isbn}/loans$"},
		},
	}, {
		file: "notes-openapi31.yaml", service: "team_notes", name: "Team Notes", backend: "1", skipValidation: true,
		proxy: []proxyField{{"auth_user_key", "X-Notes-Key"}, {"credentials_location", "headers"}},
		methods: []method{
			{"listNotes", "List notes", "GET /notes$"},
			{"getNote", "Get a note", "GET /notes/{noteId}$"},
			{"putNote", "Replace a note", "PUT /notes/{noteId}$"},
		},
	}, {
		file: "../examples/newsapi/openapi.yaml", service: "news_api", name: "News API", backend: "1",
		proxy: []proxyField{{"auth_user_key", "user_key"}, {"credentials_location", "query"}},
		methods: []method{
			{"listArticles", "List articles", "GET /articles$"},
			{"createArticle", "Add an article", "POST /articles$"},
			{"getArticle", "Get one article", "GET /articles/{id}$"},
			{"health", "Liveness check", "GET /health$"},
		},
	}} {
		t.Run(tc.file, func(t *testing.T) {
			spec := importSample(t, tc.file)
			tg, warnings, err := importTargetOf(spec, ImportOptions{})
			require.NoError(t, err)
			assert.Empty(t, warnings)
			assert.Equal(t, tc.service, tg.service.SystemName)
			assert.Equal(t, tc.name, tg.service.Name)
			assert.Equal(t, spec.Description(), tg.service.Description)
			assert.Equal(t, tc.backend, tg.service.BackendVersion)
			assert.Equal(t, tc.proxy, tg.proxy)
			var got []method
			for i, m := range tg.methods {
				r := tg.rules[i]
				assert.Equal(t, m.SystemName, r.metric)
				assert.Equal(t, r.method+" "+strings.TrimSuffix(r.pattern, "$"), m.Description)
				got = append(got, method{m.SystemName, m.FriendlyName, r.method + " " + r.pattern})
			}
			assert.Equal(t, tc.methods, got)
			assert.Equal(t, tc.service, tg.doc.SystemName)
			assert.True(t, tg.doc.Published)
			assert.Equal(t, tc.skipValidation, tg.doc.SkipSwaggerValidations)
			assert.JSONEq(t, string(spec.JSON()), tg.doc.Body)

			tg, _, err = importTargetOf(spec, ImportOptions{Service: "mine", PrefixMatching: true})
			require.NoError(t, err)
			assert.Equal(t, "mine", tg.service.SystemName)
			assert.Equal(t, "mine", tg.doc.SystemName)
			for i, r := range tg.rules {
				assert.Equal(t, strings.TrimSuffix(tc.methods[i].rule, "$"), r.method+" "+r.pattern, "prefix matching: no $")
			}
		})
	}
}

func TestImportAuthOf(t *testing.T) {
	key := func(name, in, param string) SecurityScheme {
		return SecurityScheme{Name: name, Type: "apiKey", In: in, ParamName: param}
	}
	for _, tc := range []struct {
		name    string
		schemes []SecurityScheme
		backend string
		proxy   []proxyField
		warning string
	}{
		{name: "none"},
		{name: "user_key in query", schemes: []SecurityScheme{key("k", "query", "api_key")}, backend: "1",
			proxy: []proxyField{{"auth_user_key", "api_key"}, {"credentials_location", "query"}}},
		{name: "user_key in a header", schemes: []SecurityScheme{key("k", "header", "X-Key")}, backend: "1",
			proxy: []proxyField{{"auth_user_key", "X-Key"}, {"credentials_location", "headers"}}},
		{name: "app_id and app_key, key first", schemes: []SecurityScheme{key("b", "query", "app_key"), key("a", "query", "app_id")}, backend: "2",
			proxy: []proxyField{{"auth_app_id", "app_id"}, {"auth_app_key", "app_key"}, {"credentials_location", "query"}}},
		{name: "app_id and app_key, neither named key", schemes: []SecurityScheme{key("a", "header", "X-Client"), key("b", "header", "X-Secret")}, backend: "2",
			proxy: []proxyField{{"auth_app_id", "X-Client"}, {"auth_app_key", "X-Secret"}, {"credentials_location", "headers"}}},
		{name: "openIdConnect", schemes: []SecurityScheme{{Name: "o", Type: "openIdConnect", OpenIDConnectURL: "https://sso/realms/x/.well-known/openid-configuration"}},
			backend: "oidc", proxy: []proxyField{{"oidc_issuer_endpoint", "https://sso/realms/x"}}},
		{name: "oauth2", schemes: []SecurityScheme{{Name: "o", Type: "oauth2"}}, backend: "oidc"},
		{name: "cookie", schemes: []SecurityScheme{key("c", "cookie", "sid")}, warning: `"c" is in "cookie"`},
		{name: "three keys", schemes: []SecurityScheme{key("a", "query", "a"), key("b", "query", "b"), key("c", "query", "c")}, warning: "3 apiKey schemes"},
		{name: "two places", schemes: []SecurityScheme{key("a", "query", "app_id"), key("b", "header", "app_key")}, warning: "different places"},
		{name: "http bearer", schemes: []SecurityScheme{{Name: "jwt", Type: "http", Scheme: "bearer"}}, warning: `"jwt" of type "http"`},
		{name: "mixed", schemes: []SecurityScheme{key("a", "query", "k"), {Name: "o", Type: "oauth2"}}, warning: "mixes apiKey"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			backend, proxy, warnings := authOf(tc.schemes)
			assert.Equal(t, tc.backend, backend)
			assert.Equal(t, tc.proxy, proxy)
			if tc.warning == "" {
				assert.Empty(t, warnings)
				return
			}
			require.Len(t, warnings, 1)
			assert.Contains(t, warnings[0], tc.warning)
			assert.Contains(t, warnings[0], "authentication left unchanged")
		})
	}
}

func TestImportNames(t *testing.T) {
	for _, tc := range []struct {
		in   Operation
		want string
	}{
		{Operation{Method: "GET", Path: "/news/{id}"}, "get_news_id"},
		{Operation{Method: "GET", Path: "/"}, "get"},
		{Operation{Method: "POST", Path: "/a//b-c/{x}.json"}, "post_a_b_c_x_json"},
		{Operation{Method: "GET", Path: "/x", ID: "listNews"}, "listNews"},
		{Operation{Method: "GET", Path: "/x", ID: "news:list all"}, "news_list_all"},
		{Operation{Method: "GET", Path: "/x", ID: "a.b-c/d[0]"}, "a.b-c/d[0]"},
		{Operation{Method: "GET", Path: "/ünï/côdé", ID: "  "}, "get_n_c_d"},
		{Operation{Method: "PATCH", Path: "/" + strings.Repeat("a", 300)}, "patch_" + strings.Repeat("a", 249)},
	} {
		assert.Equal(t, tc.want, methodSystemName(tc.in), tc.in.String())
	}
	assert.Equal(t, "news_api", titleSystemName("News API"))
	assert.Equal(t, "", titleSystemName("¿?"))
	assert.True(t, validSystemName("news"))
	assert.False(t, validSystemName("news api"))
	assert.Equal(t, "h", clipString("héllo", 2), "cut on a rune boundary")
	assert.Equal(t, "", clipString("abc", -3))
	assert.Equal(t, "abc", clipString("abc", 3))
}

// TestImportTargetOfClashes: operations whose names clash get distinct
// system_names and friendly names; bad input is an error naming it.
func TestImportTargetOfClashes(t *testing.T) {
	spec, err := parseChecked([]byte(`{"openapi":"3.0.3","info":{"title":"Clash","version":"1"},"paths":{
		"/a-b":{"get":{"summary":"Same","responses":{"200":{"description":"ok"}}}},
		"/a_b":{"get":{"summary":"Same","responses":{"200":{"description":"ok"}}}}}}`))
	require.NoError(t, err)
	tg, _, err := importTargetOf(spec, ImportOptions{})
	require.NoError(t, err)
	require.Len(t, tg.methods, 2)
	assert.Equal(t, "get_a_b", tg.methods[0].SystemName)
	assert.Equal(t, "get_a_b_2", tg.methods[1].SystemName)
	assert.Equal(t, "Same", tg.methods[0].FriendlyName)
	assert.Equal(t, "Same (get_a_b_2)", tg.methods[1].FriendlyName)

	_, _, err = importTargetOf(spec, ImportOptions{Service: "bad name"})
	assert.ErrorContains(t, err, `invalid service system_name "bad name"`)

	untitled, err := parseChecked([]byte(`{"openapi":"3.0.3","info":{"title":"¿?","version":"1"},"paths":{}}`))
	require.NoError(t, err)
	_, _, err = importTargetOf(untitled, ImportOptions{})
	assert.ErrorContains(t, err, "give --service")
}

// imported returns the state a coordinator holds after spec was imported with
// opts: the service id 1, hits 2, methods from 10, rules from 100.
func imported(t *testing.T, spec *Spec, opts ImportOptions) *importState {
	t.Helper()
	tg, _, err := importTargetOf(spec, opts)
	require.NoError(t, err)
	svc := tg.service
	svc.ID = 1
	st := &importState{service: &svc}
	for _, f := range tg.proxy {
		switch f.name {
		case "auth_user_key":
			st.proxy.AuthUserKey = f.value
		case "auth_app_id":
			st.proxy.AuthAppID = f.value
		case "auth_app_key":
			st.proxy.AuthAppKey = f.value
		case "credentials_location":
			st.proxy.CredentialsLocation = f.value
		case "oidc_issuer_endpoint":
			st.proxy.OIDCIssuerEndpoint = f.value
		}
	}
	ids := make(map[string]int64)
	for i, m := range tg.methods {
		m.ID = int64(10 + i)
		ids[m.SystemName] = m.ID
		st.methods = append(st.methods, m)
	}
	for i, r := range tg.rules {
		st.rules = append(st.rules, remoteRule{ID: int64(100 + i), MetricID: ids[r.metric], HTTPMethod: r.method, Pattern: r.pattern, Delta: 1})
	}
	doc := tg.doc
	doc.ID, doc.ServiceID = 7, 1
	st.doc = &doc
	return st
}

// summary lists a plan's actions as "verb kind name [fields]".
func summary(p *ImportPlan) []string {
	var out []string
	for _, a := range p.Actions {
		s := a.Verb + " " + a.Kind + " " + a.Name
		if a.ID != 0 {
			s += " #" + strconv.FormatInt(a.ID, 10)
		}
		var keys []string
		for k := range a.Fields {
			if k != "body" && k != "description" {
				keys = append(keys, k+"="+a.Fields.Get(k))
			}
		}
		if a.needMetric != "" {
			keys = append(keys, "metric_id=<"+a.needMetric+">")
		}
		if len(keys) > 0 {
			sort.Strings(keys)
			s += " " + strings.Join(keys, " ")
		}
		out = append(out, s)
	}
	return out
}

func TestImportPlanNewService(t *testing.T) {
	spec := importSample(t, "library-openapi30.yaml")
	p, err := planImport(spec, &importState{}, ImportOptions{})
	require.NoError(t, err)
	assert.Equal(t, []string{
		"create service city_library backend_version=oidc name=City Library system_name=city_library",
		"update proxy city_library oidc_issuer_endpoint=https://sso.example.com/realms/library",
		"create method listBooks friendly_name=List books system_name=listBooks",
		"create method addBook friendly_name=Add a book system_name=addBook",
		"create method getBook friendly_name=Get a book system_name=getBook",
		"create method lendBook friendly_name=Lend a book system_name=lendBook",
		"create mapping_rule GET /api/v1/books$ delta=1 http_method=GET metric_id=<listBooks> pattern=/api/v1/books$",
		"create mapping_rule POST /api/v1/books$ delta=1 http_method=POST metric_id=<addBook> pattern=/api/v1/books$",
		"create mapping_rule GET /api/v1/books/{isbn}$ delta=1 http_method=GET metric_id=<getBook> pattern=/api/v1/books/{isbn}$",
		"create mapping_rule POST /api/v1/books/{isbn}/loans$ delta=1 http_method=POST metric_id=<lendBook> pattern=/api/v1/books/{isbn}/loans$",
		"create active_doc city_library name=City Library published=true skip_swagger_validations=false system_name=city_library",
	}, summary(p))
	assert.True(t, p.Actions[len(p.Actions)-1].needService)
	assert.Contains(t, p.String(), "service city_library: 11 changes")
	assert.Contains(t, p.String(), "service_id=<new service>")
	assert.Contains(t, p.String(), "body=<")
}

func TestImportPlanUnchangedIsEmpty(t *testing.T) {
	for _, file := range []string{"petstore-swagger2.json", "library-openapi30.yaml", "notes-openapi31.yaml", "../examples/newsapi/openapi.yaml"} {
		spec := importSample(t, file)
		for _, opts := range []ImportOptions{{}, {Service: "x", PrefixMatching: true}} {
			p, err := planImport(spec, imported(t, spec, opts), opts)
			require.NoError(t, err)
			assert.True(t, p.Empty(), "%s %+v: %v", file, opts, summary(p))
			assert.Contains(t, p.String(), "is up to date")
		}
	}
}

// TestImportPlanChangedSpec: a changed operation is updated, a removed one's
// method and rule are deleted, a new one is created, and nothing else moves.
func TestImportPlanChangedSpec(t *testing.T) {
	cur := imported(t, importSample(t, "library-openapi30.yaml"), ImportOptions{})
	p, err := planImport(importSample(t, "library-openapi30-v2.yaml"), cur, ImportOptions{})
	require.NoError(t, err)
	assert.Equal(t, []string{
		"delete mapping_rule POST /api/v1/books/{isbn}/loans$ #103",
		"delete method lendBook #13",
		"update method getBook #12 friendly_name=Look up a book by ISBN",
		"create method get_members_memberid friendly_name=Get a member system_name=get_members_memberid",
		"create mapping_rule GET /api/v1/members/{memberId}$ delta=1 http_method=GET metric_id=<get_members_memberid> pattern=/api/v1/members/{memberId}$",
		"update active_doc city_library #7",
	}, summary(p))
	assert.NotEmpty(t, p.Actions[len(p.Actions)-1].Fields.Get("body"))
}

// TestImportPlanPrefixMatching: switching to prefix matching updates the
// rules in place.
func TestImportPlanPrefixMatching(t *testing.T) {
	spec := importSample(t, "notes-openapi31.yaml")
	p, err := planImport(spec, imported(t, spec, ImportOptions{}), ImportOptions{PrefixMatching: true})
	require.NoError(t, err)
	assert.Equal(t, []string{
		"update mapping_rule GET /notes #100 pattern=/notes",
		"update mapping_rule GET /notes/{noteId} #101 pattern=/notes/{noteId}",
		"update mapping_rule PUT /notes/{noteId} #102 pattern=/notes/{noteId}",
	}, summary(p))
}

// TestImportPlanLeavesOthersAlone: methods and rules the import did not make
// are kept; a rule with an operation's method and pattern is taken over;
// drifted fields are put back.
func TestImportPlanLeavesOthersAlone(t *testing.T) {
	spec := importSample(t, "notes-openapi31.yaml")
	cur := imported(t, spec, ImportOptions{})
	cur.methods = append(cur.methods, remoteMetric{ID: 50, SystemName: "by_hand", FriendlyName: "By hand"})
	cur.rules = append(cur.rules,
		remoteRule{ID: 150, MetricID: 50, HTTPMethod: "GET", Pattern: "/by-hand", Delta: 1},
		remoteRule{ID: 151, MetricID: 11, HTTPMethod: "GET", Pattern: "/notes/{noteId}/extra", Delta: 1}, // on an imported method: stale
	)
	cur.rules[0].MetricID = 50 // GET /notes$ pointed elsewhere by hand
	cur.rules[2].Delta = 5
	cur.methods[0].FriendlyName = "Renamed"
	cur.proxy.CredentialsLocation = "query"
	cur.service.BackendVersion = "2"
	cur.doc.Published = false
	p, err := planImport(spec, cur, ImportOptions{})
	require.NoError(t, err)
	assert.Equal(t, []string{
		"update service team_notes #1 backend_version=1",
		"update proxy team_notes credentials_location=headers",
		"delete mapping_rule GET /notes/{noteId}/extra #151",
		"update method listNotes #10 friendly_name=List notes",
		"update mapping_rule GET /notes$ #100 metric_id=10",
		"update mapping_rule PUT /notes/{noteId}$ #102 delta=1",
		"update active_doc team_notes #7 published=true",
	}, summary(p))
}

// TestImportPlanUnreadablePrevious: when the ActiveDoc does not hold a spec,
// nothing is deleted and the plan says why.
func TestImportPlanUnreadablePrevious(t *testing.T) {
	cur := imported(t, importSample(t, "library-openapi30.yaml"), ImportOptions{})
	cur.doc.Body = `{"not":"a spec"}`
	p, err := planImport(importSample(t, "library-openapi30-v2.yaml"), cur, ImportOptions{})
	require.NoError(t, err)
	for _, a := range p.Actions {
		assert.NotEqual(t, verbDelete, a.Verb, a.String())
	}
	require.Len(t, p.Warnings, 1)
	assert.Contains(t, p.Warnings[0], "methods of removed operations are kept")
	assert.Contains(t, p.String(), "warning: ")
}

// TestImportTokenNeverEchoed: a server that echoes the token in an error
// answer does not get it into the error.
func TestImportTokenNeverEchoed(t *testing.T) {
	const token = "s3cr3t-t0ken"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, pass, _ := r.BasicAuth()
		http.Error(w, `{"error":"bad token `+pass+`"}`, http.StatusForbidden)
	}))
	defer srv.Close()
	spec := importSample(t, "notes-openapi31.yaml")
	_, err := Import(context.Background(), spec, ImportConfig{Home: srv.URL, Token: token})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "403 Forbidden")
	assert.Contains(t, err.Error(), "GET /admin/api/services.json")
	assert.NotContains(t, err.Error(), token)

	_, err = Import(context.Background(), spec, ImportConfig{Home: "ftp://x", Token: token})
	assert.ErrorContains(t, err, "not an http(s) URL")
	_, err = Import(context.Background(), spec, ImportConfig{Home: srv.URL})
	assert.ErrorContains(t, err, "no access token")
}
