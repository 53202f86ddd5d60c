package coordinator_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/manifest"
	"github.com/portolan/portolan/registry"
)

// newsDocs declares a backend and a service with two plans; without basic
// when the plan is dropped.
func newsDocs(withBasic bool) string {
	docs := `apiVersion: portolan.dev/v1
kind: Backend
system_name: store
name: Store
private_endpoint: http://store.internal:8080
metrics:
- system_name: hits
  methods:
  - {system_name: search, friendly_name: Search}
---
apiVersion: portolan.dev/v1
kind: Service
system_name: news
name: News
metrics:
- system_name: hits
  methods:
  - {system_name: list_articles, friendly_name: List articles}
mapping_rules:
- {http_method: GET, pattern: /articles$, metric: list_articles, delta: 1}
backend_usages:
- {backend: store, path: /store}
plans:
- system_name: gold
  name: Gold
  limits:
  - {metric: hits, period: day, value: 100000}
  - {metric: search, backend: store, period: month, value: 10}
`
	if withBasic {
		docs += `- system_name: basic
  name: Basic
  limits:
  - {metric: hits, period: minute, value: 10}
`
	}
	return docs
}

// applyDocs posts docs to co's apply with the query q and returns the
// answer, which must have status want.
func applyDocs(t *testing.T, co *testenv.Coordinator, q, contentType, docs string, want int) (answer, *registry.ApplyResult) {
	t.Helper()
	path := registry.PathAdminApply
	if q != "" {
		path += "?" + q
	}
	got := send(t, co, http.MethodPost, path, contentType, docs)
	require.Equal(t, want, got.status, got.body)
	if want != http.StatusOK {
		return got, nil
	}
	var res registry.ApplyResult
	require.NoError(t, json.Unmarshal([]byte(got.body), &res), got.body)
	require.NotNil(t, res.Changes, "changes is a list, never null: %s", got.body)
	return got, &res
}

// changeKeys lists a plan's changes as "op key".
func changeKeys(res *registry.ApplyResult) []string {
	var out []string
	for _, ch := range res.Changes {
		out = append(out, string(ch.Op)+" "+ch.Key)
	}
	return out
}

// Applying documents creates what they declare in one revision; applying
// them again, as YAML or as JSON, changes nothing and makes no revision.
func TestApplyTwiceMakesOneRevision(t *testing.T) {
	co := testenv.StartCoordinator(t)
	before := co.Revision(t)
	_, first := applyDocs(t, co, "", "application/yaml", newsDocs(true), http.StatusOK)
	assert.True(t, first.Applied)
	assert.Equal(t, before+1, first.Revision, "one revision for the whole apply")
	assert.Equal(t, first.Revision, co.Revision(t))
	keys := changeKeys(first)
	assert.Contains(t, keys, "create service:news")
	assert.Contains(t, keys, "create backend:store")
	assert.Contains(t, keys, "create service:news/plan:gold")
	for _, ch := range first.Changes {
		assert.Equal(t, composition.OpCreate, ch.Op, ch.Key)
	}

	_, again := applyDocs(t, co, "", "application/yaml; charset=utf-8", newsDocs(true), http.StatusOK)
	assert.False(t, again.Applied)
	assert.Empty(t, again.Changes)
	assert.Equal(t, first.Revision, again.Revision)
	assert.Equal(t, first.Revision, co.Revision(t), "no second revision")

	asJSON := yamlToJSON(t, newsDocs(true))
	_, viaJSON := applyDocs(t, co, "", "application/json", asJSON, http.StatusOK)
	assert.Empty(t, viaJSON.Changes, "the same documents as JSON")
	assert.Equal(t, first.Revision, co.Revision(t))

	// An edit is an update of what changed, field by field.
	edited := strings.Replace(newsDocs(true), "{metric: hits, period: minute, value: 10}", "{metric: hits, period: minute, value: 20}", 1)
	_, upd := applyDocs(t, co, "", "application/yaml", edited, http.StatusOK)
	require.Len(t, upd.Changes, 1, changeKeys(upd))
	ch := upd.Changes[0]
	assert.Equal(t, composition.OpUpdate, ch.Op)
	assert.Equal(t, "service:news/plan:basic/limit:service:news/metric:hits@minute", ch.Key)
	require.Len(t, ch.Fields, 1)
	assert.Equal(t, "value", ch.Fields[0].Field)
	assert.JSONEq(t, "10", string(ch.Fields[0].Old))
	assert.JSONEq(t, "20", string(ch.Fields[0].New))
	assert.Equal(t, first.Revision+1, co.Revision(t))
}

// yamlToJSON re-encodes YAML documents as a JSON array, as the CLI sends them.
func yamlToJSON(t *testing.T, docs string) string {
	t.Helper()
	var parts []any
	for _, d := range strings.Split(docs, "\n---\n") {
		var v any
		require.NoError(t, yaml.Unmarshal([]byte(d), &v))
		parts = append(parts, v)
	}
	b, err := json.Marshal(parts)
	require.NoError(t, err)
	return string(b)
}

// A dry run answers the plan and writes nothing.
func TestApplyDryRunWritesNothing(t *testing.T) {
	co := testenv.StartCoordinator(t)
	before := co.Revision(t)
	_, plan := applyDocs(t, co, "dry_run=true", "application/yaml", newsDocs(true), http.StatusOK)
	assert.False(t, plan.Applied)
	assert.Contains(t, changeKeys(plan), "create service:news")
	assert.Equal(t, before, plan.Revision)
	assert.Equal(t, before, co.Revision(t), "no revision")
	for _, s := range exportDoc(t, co, false).Services {
		assert.NotEqual(t, "news", s.SystemName, "nothing created")
	}

	_, applied := applyDocs(t, co, "dry_run=false", "application/yaml", newsDocs(true), http.StatusOK)
	assert.Equal(t, changeKeys(plan), changeKeys(applied), "the dry run's plan is what apply writes")
}

// Prune deletes what the documents' services own but no longer declare, and
// nothing else: another service and an account the documents do not name
// stay. Without prune nothing is deleted.
func TestApplyPruneDeletesOnlyOwnedEntities(t *testing.T) {
	co := testenv.StartCoordinator(t)
	const form = "application/x-www-form-urlencoded"
	other := send(t, co, http.MethodPost, "/admin/api/services.json", form, "name=Weather&system_name=weather")
	require.Equal(t, http.StatusCreated, other.status, other.body)
	acct := send(t, co, http.MethodPost, "/admin/api/signup.json", form, url.Values{"org_name": {"ACME"}, "username": {"bob"}, "email": {"bob@acme.example"}}.Encode())
	require.Equal(t, http.StatusCreated, acct.status, acct.body)
	applyDocs(t, co, "", "application/yaml", newsDocs(true), http.StatusOK)
	rev := co.Revision(t)

	_, kept := applyDocs(t, co, "", "application/yaml", newsDocs(false), http.StatusOK)
	assert.Empty(t, kept.Changes, "without prune, a plan the documents no longer declare stays")
	assert.Equal(t, rev, co.Revision(t))

	// A plan with applications is not pruned: 3scale refuses to delete it,
	// so the apply is refused whole, naming it.
	var signup map[string]map[string]any
	require.NoError(t, json.Unmarshal([]byte(acct.body), &signup))
	acctID, _ := signup["account"]["id"].(float64)
	var basicID int64
	for _, p := range exportDoc(t, co, false).ApplicationPlans {
		if p.SystemName == "basic" {
			basicID = p.ID
		}
	}
	appsPath := "/admin/api/accounts/" + jsonNumber(acctID) + "/applications"
	app := send(t, co, http.MethodPost, appsPath+".json", form, url.Values{"plan_id": {jsonNumber(float64(basicID))}, "name": {"Reader"}}.Encode())
	require.Equal(t, http.StatusCreated, app.status, app.body)
	got, _ := applyDocs(t, co, "prune=true", "application/yaml", newsDocs(false), http.StatusUnprocessableEntity)
	problems := fieldErrors(t, got.body)["documents"]
	require.Len(t, problems, 1, got.body)
	assert.Contains(t, problems[0], "service:news/plan:basic")
	assert.Contains(t, problems[0], "has applications")
	assert.Equal(t, rev+1, co.Revision(t), "nothing written but the application")
	var appBody map[string]map[string]any
	require.NoError(t, json.Unmarshal([]byte(app.body), &appBody))
	appID, _ := appBody["application"]["id"].(float64)
	gone := send(t, co, http.MethodDelete, appsPath+"/"+jsonNumber(appID)+".json", "", "")
	require.Equal(t, http.StatusOK, gone.status, gone.body)
	rev = co.Revision(t)

	_, pruned := applyDocs(t, co, "prune=true", "application/yaml", newsDocs(false), http.StatusOK)
	assert.True(t, pruned.Applied)
	for _, ch := range pruned.Changes {
		assert.Equal(t, composition.OpDelete, ch.Op, ch.Key)
		assert.True(t, strings.HasPrefix(ch.Key, "service:news/plan:basic"), "only basic and what it owns: %s", ch.Key)
	}
	assert.Contains(t, changeKeys(pruned), "delete service:news/plan:basic")
	assert.Equal(t, rev+1, co.Revision(t))

	doc := exportDoc(t, co, false)
	var services, plans []string
	for _, s := range doc.Services {
		services = append(services, s.SystemName)
	}
	for _, p := range doc.ApplicationPlans {
		plans = append(plans, p.SystemName)
	}
	assert.Contains(t, services, "weather", "a service the documents do not name stays")
	assert.Contains(t, plans, "gold")
	assert.NotContains(t, plans, "basic")
	var orgs []string
	for _, a := range doc.Accounts {
		orgs = append(orgs, a.OrgName)
	}
	assert.Contains(t, orgs, "ACME", "an account the documents do not name stays")
}

// Documents with problems are refused whole: 422 listing every problem, each
// naming the document, the entity and the field, and nothing written, even
// of the valid documents beside them.
func TestApplyRefusesInvalidDocumentsWhole(t *testing.T) {
	co := testenv.StartCoordinator(t)
	before := co.Revision(t)
	bad := newsDocs(true) + `---
apiVersion: portolan.dev/v1
kind: Service
system_name: weather
name: Weather
plans:
- system_name: free
  name: Free
  limits:
  - {metric: hits, period: dai, value: 1}
---
apiVersion: portolan.dev/v1
kind: Backend
system_name: geo
name: Geo
colour: red
`
	got, _ := applyDocs(t, co, "", "application/yaml", bad, http.StatusUnprocessableEntity)
	problems := fieldErrors(t, got.body)["documents"]
	require.Len(t, problems, 2, got.body)
	assert.Contains(t, problems[0], `document 3 (Service "weather")`)
	assert.Contains(t, problems[0], "plans[free].limits[0].period")
	assert.Contains(t, problems[0], `"dai"`)
	assert.Contains(t, problems[1], `document 4 (Backend "geo"): colour`)
	assert.Equal(t, before, co.Revision(t), "nothing written")

	// A reference only home could resolve, and does not: refused by home's
	// check, naming the document too.
	app := `apiVersion: portolan.dev/v1
kind: Account
org_name: ACME
applications:
- {name: Reader, service: missing, plan: basic}
`
	got, _ = applyDocs(t, co, "", "application/yaml", app, http.StatusUnprocessableEntity)
	problems = fieldErrors(t, got.body)["documents"]
	require.Len(t, problems, 1, got.body)
	assert.Contains(t, problems[0], `(Account "ACME")`)
	assert.Contains(t, problems[0], "missing")
	assert.Equal(t, before, co.Revision(t), "nothing written")
	for _, s := range exportDoc(t, co, false).Services {
		assert.NotEqual(t, "news", s.SystemName, "the valid documents beside are not applied either")
	}

	got, _ = applyDocs(t, co, "", "text/plain", newsDocs(true), http.StatusUnsupportedMediaType)
	assert.Contains(t, got.body, "application/yaml")
	got, _ = applyDocs(t, co, "prune=maybe", "application/yaml", newsDocs(true), http.StatusBadRequest)
	assert.Contains(t, got.body, `prune=maybe: want true or false`)
	applyDocs(t, co, "", "application/yaml", "", http.StatusBadRequest)
	huge := "# " + strings.Repeat("x", manifest.MaxBytes) + "\n"
	got, _ = applyDocs(t, co, "", "application/yaml", huge, http.StatusRequestEntityTooLarge)
	assert.Contains(t, got.body, "request body exceeds")
	assert.Equal(t, before, co.Revision(t))
}

// Apply takes the admin access token with permission rw, as import does.
func TestApplyNeedsAnAdminToken(t *testing.T) {
	co := testenv.StartCoordinator(t)
	post := func(auth func(*http.Request)) int {
		req, err := http.NewRequest(http.MethodPost, co.URL+registry.PathAdminApply, strings.NewReader(newsDocs(true)))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/yaml")
		auth(req)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	created := send(t, co, http.MethodPost, "/admin/api/personal/access_tokens.json", "application/x-www-form-urlencoded",
		url.Values{"name": {"reader"}, "permission": {"ro"}, "scopes[]": {"account_management"}}.Encode())
	require.Equal(t, http.StatusCreated, created.status, created.body)
	var ro struct {
		AccessToken struct {
			Value string `json:"value"`
		} `json:"access_token"`
	}
	require.NoError(t, json.Unmarshal([]byte(created.body), &ro))
	before := co.Revision(t)

	assert.Equal(t, http.StatusForbidden, post(func(*http.Request) {}), "no token")
	assert.Equal(t, http.StatusForbidden, post(func(r *http.Request) { r.SetBasicAuth("", "wrong") }), "a wrong token")
	assert.Equal(t, http.StatusForbidden, post(func(r *http.Request) { r.SetBasicAuth("", ro.AccessToken.Value) }), "a read-only token")
	assert.Equal(t, before, co.Revision(t))
	assert.Equal(t, http.StatusOK, post(func(r *http.Request) { r.SetBasicAuth("", co.Token) }))
}

// fieldErrors reads 3scale's validation answer, {"errors":{field:[msg]}}.
func fieldErrors(t *testing.T, body string) map[string][]string {
	t.Helper()
	var v struct {
		Errors map[string][]string `json:"errors"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &v), body)
	return v.Errors
}

// A user's password in a document is stored hashed, never as given, and
// applying the document again matches it against the hash: no change.
func TestApplyStoresPasswordsHashed(t *testing.T) {
	co := testenv.StartCoordinator(t)
	acme := `apiVersion: portolan.dev/v1
kind: Account
org_name: ACME
users:
- {username: alice, email: alice@acme.example, password: s3cret-pass}
`
	_, first := applyDocs(t, co, "", "application/yaml", acme, http.StatusOK)
	require.True(t, first.Applied)
	var alice *composition.User
	for _, u := range exportDoc(t, co, true).Users {
		if u.Username == "alice" {
			alice = u
		}
	}
	require.NotNil(t, alice)
	assert.True(t, composition.IsPasswordHash(alice.Password), "stored hashed: %q", alice.Password)
	ok, err := composition.VerifyPassword(alice.Password, "s3cret-pass")
	require.NoError(t, err)
	assert.True(t, ok)

	_, again := applyDocs(t, co, "", "application/yaml", acme, http.StatusOK)
	assert.Empty(t, again.Changes, "the same password again")
	assert.Equal(t, first.Revision, co.Revision(t))
	_, changed := applyDocs(t, co, "dry_run=true", "application/yaml", strings.Replace(acme, "s3cret-pass", "other-pass", 1), http.StatusOK)
	assert.Equal(t, []string{"update account:ACME/user:alice"}, changeKeys(changed))
	require.Len(t, changed.Changes[0].Fields, 1)
	pw := changed.Changes[0].Fields[0]
	assert.Equal(t, "password", pw.Field)
	assert.JSONEq(t, `"(secret)"`, string(pw.Old), "a plan never shows a secret, nor its hash")
	assert.JSONEq(t, `"(secret)"`, string(pw.New))
}
