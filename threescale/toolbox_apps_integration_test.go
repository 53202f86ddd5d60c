package threescale_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/3scale/3scale-porta-go-client/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// The 3scale toolbox's `application` and `account` commands, call by call as
// the toolbox (1.0.1) and its 3scale-api gem make them: the path with
// ".json", GET parameters in the query, other bodies as JSON, the access
// token as Basic auth, a PUT without a body for state events.

// gemCall sends one call the way ThreeScale::API::HttpClient does and returns
// the status and the decoded JSON body (nil when there is none).
func gemCall(t *testing.T, co *testenv.Coordinator, method, path string, query url.Values, body any) (int, map[string]any) {
	t.Helper()
	target := co.URL + path + ".json"
	if query != nil {
		target += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, target, rd)
	require.NoError(t, err)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth("", co.Token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var out map[string]any
	if len(bytes.TrimSpace(raw)) > 0 {
		require.NoError(t, json.Unmarshal(raw, &out), "%s %s: %s", method, path, raw)
	}
	return resp.StatusCode, out
}

// gemEntity is the gem's extract(entity:): the member named entity of an
// answer that must have status.
func gemEntity(t *testing.T, status int, want int, out map[string]any, entity string) map[string]any {
	t.Helper()
	require.Equal(t, want, status, "%v", out)
	e, ok := out[entity].(map[string]any)
	require.True(t, ok, "no %s in %v", entity, out)
	return e
}

// gemList is extract(collection:, entity:).
func gemList(t *testing.T, status int, out map[string]any, collection, entity string) []map[string]any {
	t.Helper()
	require.Equal(t, http.StatusOK, status, "%v", out)
	items, ok := out[collection].([]any)
	require.True(t, ok, "no %s in %v", collection, out)
	list := make([]map[string]any, len(items))
	for i, it := range items {
		list[i] = it.(map[string]any)[entity].(map[string]any)
	}
	return list
}

// gemID is a JSON id as the path segment the toolbox puts it in.
func gemID(v any) string { return s64(int64(v.(float64))) }

// toolboxFindAccount is Entities::Account.find: the ref as an id, then as an
// email, a username, a user id, a provider key.
func toolboxFindAccount(t *testing.T, co *testenv.Coordinator, ref string) map[string]any {
	t.Helper()
	if code, out := gemCall(t, co, http.MethodGet, "/admin/api/accounts/"+url.PathEscape(ref), nil, nil); code == http.StatusOK {
		return out["account"].(map[string]any)
	}
	for _, q := range []url.Values{
		{"email": {ref}}, {"username": {ref}}, {"user_id": {ref}}, {"buyer_provider_key": {ref}, "buyer_service_token": {ref}},
	} {
		code, out := gemCall(t, co, http.MethodGet, "/admin/api/accounts/find", q, nil)
		if code == http.StatusOK {
			return out["account"].(map[string]any)
		}
		require.Equal(t, http.StatusNotFound, code, "find %v: %v", q, out)
	}
	return nil
}

// toolboxFindApp is Entities::Application.find: by user_key, by app_id, by
// id, each alone (with service_id when given).
func toolboxFindApp(t *testing.T, co *testenv.Coordinator, serviceID, ref string) map[string]any {
	t.Helper()
	for _, key := range []string{"user_key", "app_id", "application_id"} {
		q := url.Values{key: {ref}}
		if serviceID != "" {
			q.Set("service_id", serviceID)
		}
		code, out := gemCall(t, co, http.MethodGet, "/admin/api/applications/find", q, nil)
		if code == http.StatusOK {
			return out["application"].(map[string]any)
		}
		require.Equal(t, http.StatusNotFound, code, "find %v: %v", q, out)
	}
	return nil
}

// toolboxFindService and toolboxFindPlan are Entities::Service.find and
// ApplicationPlan.find: the ref as an id, else as a system name.
func toolboxFindService(t *testing.T, co *testenv.Coordinator, ref string) string {
	t.Helper()
	if code, out := gemCall(t, co, http.MethodGet, "/admin/api/services/"+url.PathEscape(ref), nil, nil); code == http.StatusOK {
		return gemID(out["service"].(map[string]any)["id"])
	}
	code, out := gemCall(t, co, http.MethodGet, "/admin/api/services", nil, nil)
	for _, s := range gemList(t, code, out, "services", "service") {
		if s["system_name"] == ref {
			return gemID(s["id"])
		}
	}
	t.Fatalf("service %s not found", ref)
	return ""
}

func toolboxFindPlan(t *testing.T, co *testenv.Coordinator, service, ref string) string {
	t.Helper()
	code, out := gemCall(t, co, http.MethodGet, "/admin/api/services/"+service+"/application_plans", nil, nil)
	for _, p := range gemList(t, code, out, "plans", "application_plan") {
		if gemID(p["id"]) == ref || p["system_name"] == ref {
			return gemID(p["id"])
		}
	}
	t.Fatalf("plan %s not found", ref)
	return ""
}

func TestToolboxApplicationAndAccountCommands(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	product := createProduct(t, cl, "Beer Catalog API", nil)
	createPlan(t, cl, product, client.Params{"name": "Test Plan"})
	appIDs := createProduct(t, cl, "Partner API", client.Params{"backend_version": "2"})
	createPlan(t, cl, appIDs, client.Params{"name": "Partner Plan"})
	acc := *acSignup(t, cl, "Acme", "alice").ID

	// 3scale account find <remote> alice@example.com (and by username).
	found := toolboxFindAccount(t, co, "alice@example.com")
	require.NotNil(t, found)
	assert.Equal(t, float64(acc), found["id"])
	assert.Equal(t, "Acme", found["org_name"])
	require.NotNil(t, toolboxFindAccount(t, co, "alice"))
	require.NotNil(t, toolboxFindAccount(t, co, s64(acc)))
	assert.Nil(t, toolboxFindAccount(t, co, "nobody@example.com"), "Account not found")

	// 3scale application create <remote> alice@example.com beer_catalog_api test_plan "My App"
	service := toolboxFindService(t, co, "beer_catalog_api")
	plan := toolboxFindPlan(t, co, service, "test_plan")
	code, out := gemCall(t, co, http.MethodPost, "/admin/api/accounts/"+gemID(found["id"])+"/applications", nil,
		map[string]any{"plan_id": json.Number(plan), "name": "My App", "description": "My App"})
	app := gemEntity(t, code, http.StatusCreated, out, "application")
	appID := gemID(app["id"])
	userKey, _ := app["user_key"].(string)
	require.NotEmpty(t, userKey)

	// 3scale application show <remote> <user_key>, and by id.
	shown := toolboxFindApp(t, co, "", userKey)
	require.NotNil(t, shown)
	assert.Equal(t, app["id"], shown["id"])
	for _, k := range []string{"id", "name", "state", "enabled", "account_id", "service_id", "plan_id", "user_key"} {
		assert.Contains(t, shown, k)
	}
	require.NotNil(t, toolboxFindApp(t, co, service, appID))

	// 3scale application apply <remote> my-api-key --account=alice --service=beer_catalog_api
	//   --plan=test_plan --name="Applied": not found, so created with the ref as its key.
	require.Nil(t, toolboxFindApp(t, co, service, "my-api-key"))
	code, out = gemCall(t, co, http.MethodPost, "/admin/api/accounts/"+s64(acc)+"/applications", nil,
		map[string]any{"plan_id": json.Number(plan), "name": "Applied", "description": "Applied", "user_key": "my-api-key", "application_id": "my-api-key"})
	applied := gemEntity(t, code, http.StatusCreated, out, "application")
	assert.Equal(t, "my-api-key", applied["user_key"])
	assert.NotContains(t, applied, "application_id", "a user_key application shows no app_id")
	// Re-run with --description and --suspend: found, updated, suspended.
	again := toolboxFindApp(t, co, service, "my-api-key")
	require.NotNil(t, again)
	member := "/admin/api/accounts/" + gemID(again["account_id"]) + "/applications/" + gemID(again["id"])
	code, out = gemCall(t, co, http.MethodPut, member, nil, map[string]any{"name": "Applied", "description": "second run"})
	assert.Equal(t, "second run", gemEntity(t, code, http.StatusOK, out, "application")["description"])
	code, out = gemCall(t, co, http.MethodPut, member+"/suspend", nil, nil)
	suspended := gemEntity(t, code, http.StatusOK, out, "application")
	assert.Equal(t, "suspended", suspended["state"])
	assert.Equal(t, false, suspended["enabled"])
	code, out = gemCall(t, co, http.MethodPut, member+"/resume", nil, nil)
	assert.Equal(t, "live", gemEntity(t, code, http.StatusOK, out, "application")["state"])

	// An app_id application with its key, through the gem's key calls.
	partnerPlan := toolboxFindPlan(t, co, toolboxFindService(t, co, "partner_api"), "partner_plan")
	code, out = gemCall(t, co, http.MethodPost, "/admin/api/accounts/"+s64(acc)+"/applications", nil,
		map[string]any{"plan_id": json.Number(partnerPlan), "name": "Partner", "application_id": "partner-app", "application_key": "partner-secret"})
	partner := gemEntity(t, code, http.StatusCreated, out, "application")
	assert.Equal(t, "partner-app", partner["application_id"])
	keys := "/admin/api/accounts/" + s64(acc) + "/applications/" + gemID(partner["id"]) + "/keys"
	code, out = gemCall(t, co, http.MethodGet, keys, nil, nil)
	list := gemList(t, code, out, "keys", "key")
	require.Len(t, list, 1)
	assert.Equal(t, "partner-secret", list[0]["value"])
	code, out = gemCall(t, co, http.MethodPost, keys, nil, map[string]any{"key": "another-secret"})
	assert.Equal(t, partner["id"], gemEntity(t, code, http.StatusCreated, out, "application")["id"])
	require.NotNil(t, toolboxFindApp(t, co, "", "partner-app"))

	// 3scale application list <remote> --account / --service / --service --plan
	code, out = gemCall(t, co, http.MethodGet, "/admin/api/accounts/"+s64(acc)+"/applications", nil, nil)
	assert.Len(t, gemList(t, code, out, "applications", "application"), 3)
	code, out = gemCall(t, co, http.MethodGet, "/admin/api/applications", url.Values{"service_id": {service}}, nil)
	assert.Len(t, gemList(t, code, out, "applications", "application"), 2)
	code, out = gemCall(t, co, http.MethodGet, "/admin/api/applications", url.Values{"service_id": {service}, "plan_id": {plan}}, nil)
	assert.Len(t, gemList(t, code, out, "applications", "application"), 2)

	// 3scale application delete <remote> my-api-key
	code, _ = gemCall(t, co, http.MethodDelete, member, nil, nil)
	assert.Equal(t, http.StatusOK, code)
	assert.Nil(t, toolboxFindApp(t, co, "", "my-api-key"))
}
