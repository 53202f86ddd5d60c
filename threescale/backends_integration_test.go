package threescale_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/3scale/3scale-porta-go-client/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

func bkBackend(t *testing.T, cl *client.ThreeScaleClient, name string) client.BackendApiItem {
	t.Helper()
	b, err := cl.CreateBackendApi(client.Params{"name": name, "private_endpoint": "https://upstream.example.com:8443/api"})
	require.NoError(t, err)
	require.NotZero(t, b.Element.ID)
	return b.Element
}

func bkHits(t *testing.T, cl *client.ThreeScaleClient, backend int64) client.MetricItem {
	t.Helper()
	list, err := cl.ListBackendapiMetrics(backend)
	require.NoError(t, err)
	return findHits(t, list.Metrics)
}

func TestBackendsBackendApis(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)

	list, err := cl.ListBackendApis()
	require.NoError(t, err)
	assert.Empty(t, list.Backends)

	created, err := cl.CreateBackendApi(client.Params{
		"name": "Inventory API", "system_name": "inventory", "description": "Stock levels",
		"private_endpoint": "http://inventory.internal:8080/v2",
	})
	require.NoError(t, err)
	b := created.Element
	assert.NotZero(t, b.ID)
	assert.Equal(t, "Inventory API", b.Name)
	assert.Equal(t, "inventory", b.SystemName)
	assert.Equal(t, "Stock levels", b.Description)
	assert.Equal(t, "http://inventory.internal:8080/v2", b.PrivateEndpoint)
	assert.Equal(t, int64(1), b.AccountID, "the provider account")
	createdAt := parseTime(t, b.CreatedAt)
	assert.Equal(t, createdAt, parseTime(t, b.UpdatedAt))

	read, err := cl.BackendApi(b.ID)
	require.NoError(t, err)
	assert.Equal(t, b, read.Element)

	derived := bkBackend(t, cl, "Billing Service")
	assert.Equal(t, "billing_service", derived.SystemName)
	assert.Equal(t, "", derived.Description)

	list, err = cl.ListBackendApis()
	require.NoError(t, err)
	require.Len(t, list.Backends, 2)
	assert.Equal(t, b, list.Backends[0].Element)
	assert.Equal(t, derived, list.Backends[1].Element)

	time.Sleep(1100 * time.Millisecond)
	updated, err := cl.UpdateBackendApi(b.ID, client.Params{
		"name": "Inventory", "description": "Stock", "private_endpoint": "https://inventory.internal/v3", "system_name": "renamed",
	})
	require.NoError(t, err)
	u := updated.Element
	assert.Equal(t, b.ID, u.ID)
	assert.Equal(t, "Inventory", u.Name)
	assert.Equal(t, "inventory", u.SystemName, "system_name cannot change")
	assert.Equal(t, "Stock", u.Description)
	assert.Equal(t, "https://inventory.internal/v3", u.PrivateEndpoint)
	assert.Equal(t, int64(1), u.AccountID)
	assert.Equal(t, createdAt, parseTime(t, u.CreatedAt))
	assert.True(t, parseTime(t, u.UpdatedAt).After(createdAt))

	read, err = cl.BackendApi(b.ID)
	require.NoError(t, err)
	assert.Equal(t, u, read.Element)

	// Bad input.
	_, err = cl.CreateBackendApi(client.Params{"private_endpoint": "http://x.example"})
	apiErr(t, err, http.StatusUnprocessableEntity, "name", "can't be blank")
	_, err = cl.CreateBackendApi(client.Params{"name": "No Endpoint"})
	apiErr(t, err, http.StatusUnprocessableEntity, "private_endpoint")
	_, err = cl.CreateBackendApi(client.Params{"name": "Bad Endpoint", "private_endpoint": "not a url"})
	apiErr(t, err, http.StatusUnprocessableEntity, "private_endpoint")
	_, err = cl.CreateBackendApi(client.Params{"name": "Dup", "system_name": "inventory", "private_endpoint": "http://x.example"})
	apiErr(t, err, http.StatusUnprocessableEntity, "system_name", "taken")
	_, err = cl.UpdateBackendApi(b.ID, client.Params{"name": ""})
	apiErr(t, err, http.StatusUnprocessableEntity, "name")
	_, err = cl.BackendApi(987654)
	assert.True(t, client.IsNotFound(err), "%v", err)
	_, err = cl.UpdateBackendApi(987654, client.Params{"name": "X"})
	assert.True(t, client.IsNotFound(err), "%v", err)

	require.NoError(t, cl.DeleteBackendApi(derived.ID))
	_, err = cl.BackendApi(derived.ID)
	assert.True(t, client.IsNotFound(err), "%v", err)
	assert.True(t, client.IsNotFound(cl.DeleteBackendApi(derived.ID)))
	list, err = cl.ListBackendApis()
	require.NoError(t, err)
	require.Len(t, list.Backends, 1)
	assert.Equal(t, u, list.Backends[0].Element)

	// The list is paginated as in 3scale.
	bkBackend(t, cl, "Third")
	status, body := formCall(t, co, http.MethodGet, "/admin/api/backend_apis.json?page=2&per_page=1", nil)
	require.Equal(t, http.StatusOK, status, string(body))
	var page client.BackendApiList
	require.NoError(t, json.Unmarshal(body, &page))
	require.Len(t, page.Backends, 1)
	assert.Equal(t, "Third", page.Backends[0].Element.Name)
}

func TestBackendsMetricsAndMethods(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	b := bkBackend(t, cl, "Metered Backend")

	list, err := cl.ListBackendapiMetrics(b.ID)
	require.NoError(t, err)
	require.Len(t, list.Metrics, 1)
	hits := list.Metrics[0].Element
	assert.NotZero(t, hits.ID)
	assert.Equal(t, "hits", hits.SystemName)
	assert.Equal(t, "Hits", hits.Name)
	assert.Equal(t, "hit", hits.Unit)
	assert.Equal(t, "Number of API hits", hits.Description)

	created, err := cl.CreateBackendApiMetric(b.ID, client.Params{
		"friendly_name": "Rows Read", "system_name": "rows_read", "unit": "row", "description": "DB rows",
	})
	require.NoError(t, err)
	m := created.Element
	assert.NotZero(t, m.ID)
	assert.Equal(t, "Rows Read", m.Name)
	assert.Equal(t, "rows_read", m.SystemName)
	assert.Equal(t, "row", m.Unit)
	assert.Equal(t, "DB rows", m.Description)
	createdAt := parseTime(t, m.CreatedAt)
	assert.Equal(t, createdAt, parseTime(t, m.UpdatedAt))

	read, err := cl.BackendApiMetric(b.ID, m.ID)
	require.NoError(t, err)
	assert.Equal(t, m, read.Element)

	// 3scale leaves the deprecated name out of backend metrics.
	status, body := formCall(t, co, http.MethodGet, "/admin/api/backend_apis/"+strconv.FormatInt(b.ID, 10)+"/metrics/"+strconv.FormatInt(m.ID, 10)+".json", nil)
	require.Equal(t, http.StatusOK, status)
	assert.NotContains(t, string(body), `"name"`)
	assert.NotContains(t, string(body), "owner_")

	time.Sleep(1100 * time.Millisecond)
	updated, err := cl.UpdateBackendApiMetric(b.ID, m.ID, client.Params{"friendly_name": "Rows", "unit": "rows", "description": "All rows"})
	require.NoError(t, err)
	u := updated.Element
	assert.Equal(t, m.ID, u.ID)
	assert.Equal(t, "Rows", u.Name)
	assert.Equal(t, "rows_read", u.SystemName)
	assert.Equal(t, "rows", u.Unit)
	assert.Equal(t, "All rows", u.Description)
	assert.Equal(t, createdAt, parseTime(t, u.CreatedAt))
	assert.True(t, parseTime(t, u.UpdatedAt).After(createdAt))
	read, err = cl.BackendApiMetric(b.ID, m.ID)
	require.NoError(t, err)
	assert.Equal(t, u, read.Element)

	// Methods.
	methods, err := cl.ListBackendapiMethods(b.ID, hits.ID)
	require.NoError(t, err)
	assert.Empty(t, methods.Methods)
	mc, err := cl.CreateBackendApiMethod(b.ID, hits.ID, client.Params{"friendly_name": "Query", "system_name": "query", "description": "POST /query"})
	require.NoError(t, err)
	me := mc.Element
	assert.NotZero(t, me.ID)
	assert.Equal(t, "Query", me.Name)
	assert.Equal(t, "query", me.SystemName)
	assert.Equal(t, "POST /query", me.Description)
	assert.Equal(t, hits.ID, me.ParentID)
	methodCreated := parseTime(t, me.CreatedAt)
	assert.Equal(t, methodCreated, parseTime(t, me.UpdatedAt))

	mr, err := cl.BackendApiMethod(b.ID, hits.ID, me.ID)
	require.NoError(t, err)
	assert.Equal(t, me, mr.Element)
	methods, err = cl.ListBackendapiMethods(b.ID, hits.ID)
	require.NoError(t, err)
	require.Len(t, methods.Methods, 1)
	assert.Equal(t, me, methods.Methods[0].Element)

	list, err = cl.ListBackendapiMetrics(b.ID)
	require.NoError(t, err)
	require.Len(t, list.Metrics, 3, "hits, the metric and the method")
	asMetric, ok := findMetric(list.Metrics, me.ID)
	require.True(t, ok)
	assert.Equal(t, "query", asMetric.SystemName)
	assert.Equal(t, "hit", asMetric.Unit)

	time.Sleep(1100 * time.Millisecond)
	mu, err := cl.UpdateBackendApiMethod(b.ID, hits.ID, me.ID, client.Params{"friendly_name": "Run Query", "description": "POST /query?run"})
	require.NoError(t, err)
	assert.Equal(t, me.ID, mu.Element.ID)
	assert.Equal(t, "Run Query", mu.Element.Name)
	assert.Equal(t, "query", mu.Element.SystemName)
	assert.Equal(t, "POST /query?run", mu.Element.Description)
	assert.Equal(t, hits.ID, mu.Element.ParentID)
	assert.Equal(t, methodCreated, parseTime(t, mu.Element.CreatedAt))
	assert.True(t, parseTime(t, mu.Element.UpdatedAt).After(methodCreated))
	mr, err = cl.BackendApiMethod(b.ID, hits.ID, me.ID)
	require.NoError(t, err)
	assert.Equal(t, mu.Element, mr.Element)

	// Bad input and unknown ids.
	_, err = cl.CreateBackendApiMethod(b.ID, m.ID, client.Params{"friendly_name": "Nested"})
	apiErr(t, err, http.StatusUnprocessableEntity, "parent_id")
	_, err = cl.BackendApiMethod(b.ID, m.ID, me.ID)
	assert.True(t, client.IsNotFound(err), "%v", err)
	_, err = cl.CreateBackendApiMethod(b.ID, hits.ID, client.Params{"description": "x"})
	apiErr(t, err, http.StatusUnprocessableEntity, "friendly_name")
	_, err = cl.CreateBackendApiMetric(b.ID, client.Params{"unit": "x"})
	apiErr(t, err, http.StatusUnprocessableEntity, "friendly_name", "can't be blank")
	_, err = cl.CreateBackendApiMetric(b.ID, client.Params{"friendly_name": "Rows", "unit": "x"})
	apiErr(t, err, http.StatusUnprocessableEntity, "friendly_name", "taken")
	_, err = cl.ListBackendapiMetrics(987654)
	assert.True(t, client.IsNotFound(err), "%v", err)
	_, err = cl.BackendApiMetric(b.ID, 987654)
	assert.True(t, client.IsNotFound(err), "%v", err)
	_, err = cl.ListBackendapiMethods(b.ID, 987654)
	assert.True(t, client.IsNotFound(err), "%v", err)
	other := bkBackend(t, cl, "Other Backend")
	_, err = cl.BackendApiMetric(other.ID, m.ID)
	assert.True(t, client.IsNotFound(err), "%v", err)
	// A product's metric is not a backend's.
	svc := createProduct(t, cl, "Not A Backend", nil)
	productMetrics, err := cl.ListProductMetrics(svc)
	require.NoError(t, err)
	_, err = cl.BackendApiMetric(b.ID, findHits(t, productMetrics.Metrics).ID)
	assert.True(t, client.IsNotFound(err), "%v", err)
	apiErr(t, cl.DeleteBackendApiMetric(b.ID, hits.ID), http.StatusUnprocessableEntity, "system_name")

	require.NoError(t, cl.DeleteBackendApiMethod(b.ID, hits.ID, me.ID))
	_, err = cl.BackendApiMethod(b.ID, hits.ID, me.ID)
	assert.True(t, client.IsNotFound(err), "%v", err)
	methods, err = cl.ListBackendapiMethods(b.ID, hits.ID)
	require.NoError(t, err)
	assert.Empty(t, methods.Methods)

	require.NoError(t, cl.DeleteBackendApiMetric(b.ID, m.ID))
	_, err = cl.BackendApiMetric(b.ID, m.ID)
	assert.True(t, client.IsNotFound(err), "%v", err)
	list, err = cl.ListBackendapiMetrics(b.ID)
	require.NoError(t, err)
	require.Len(t, list.Metrics, 1)
	assert.Equal(t, hits, list.Metrics[0].Element)
}

func TestBackendsMappingRules(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	b := bkBackend(t, cl, "Routed Backend")
	hits := bkHits(t, cl, b.ID)
	rowsC, err := cl.CreateBackendApiMetric(b.ID, client.Params{"friendly_name": "Rows", "unit": "row"})
	require.NoError(t, err)
	rows := rowsC.Element

	rules, err := cl.ListBackendapiMappingRules(b.ID)
	require.NoError(t, err)
	assert.Empty(t, rules.MappingRules)

	created, err := cl.CreateBackendapiMappingRule(b.ID, client.Params{
		"http_method": "patch", "pattern": "/rows/{id}?fields={f}", "delta": "7", "metric_id": strconv.FormatInt(rows.ID, 10),
		"position": "4", "last": "true",
	})
	require.NoError(t, err)
	r := created.Element
	assert.NotZero(t, r.ID)
	assert.Equal(t, rows.ID, r.MetricID)
	assert.Equal(t, "/rows/{id}?fields={f}", r.Pattern)
	assert.Equal(t, "PATCH", r.HTTPMethod)
	assert.Equal(t, 7, r.Delta)
	assert.Equal(t, 4, r.Position)
	assert.True(t, r.Last)
	createdAt := parseTime(t, r.CreatedAt)
	assert.Equal(t, createdAt, parseTime(t, r.UpdatedAt))

	read, err := cl.BackendapiMappingRule(b.ID, r.ID)
	require.NoError(t, err)
	assert.Equal(t, r, read.Element)

	second, err := cl.CreateBackendapiMappingRule(b.ID, client.Params{"http_method": "GET", "pattern": "/", "metric_id": strconv.FormatInt(hits.ID, 10)})
	require.NoError(t, err)
	assert.Equal(t, 1, second.Element.Delta, "delta defaults to 1")
	assert.Equal(t, hits.ID, second.Element.MetricID)
	assert.Equal(t, "GET", second.Element.HTTPMethod)
	assert.Equal(t, "/", second.Element.Pattern)
	assert.False(t, second.Element.Last)

	rules, err = cl.ListBackendapiMappingRules(b.ID)
	require.NoError(t, err)
	require.Len(t, rules.MappingRules, 2)
	assert.Equal(t, r, rules.MappingRules[0].Element, "id order")
	assert.Equal(t, second.Element, rules.MappingRules[1].Element)

	time.Sleep(1100 * time.Millisecond)
	updated, err := cl.UpdateBackendapiMappingRule(b.ID, r.ID, client.Params{
		"http_method": "DELETE", "pattern": "/rows", "delta": "2", "metric_id": strconv.FormatInt(hits.ID, 10), "last": "false",
	})
	require.NoError(t, err)
	u := updated.Element
	assert.Equal(t, r.ID, u.ID)
	assert.Equal(t, hits.ID, u.MetricID)
	assert.Equal(t, "/rows", u.Pattern)
	assert.Equal(t, "DELETE", u.HTTPMethod)
	assert.Equal(t, 2, u.Delta)
	assert.Equal(t, 4, u.Position)
	assert.False(t, u.Last)
	assert.Equal(t, createdAt, parseTime(t, u.CreatedAt))
	assert.True(t, parseTime(t, u.UpdatedAt).After(createdAt))
	read, err = cl.BackendapiMappingRule(b.ID, r.ID)
	require.NoError(t, err)
	assert.Equal(t, u, read.Element)

	// Bad input.
	base := client.Params{"http_method": "GET", "pattern": "/", "metric_id": strconv.FormatInt(hits.ID, 10)}
	with := func(k, v string) client.Params {
		p := client.Params{}
		for kk, vv := range base {
			p[kk] = vv
		}
		p[k] = v
		return p
	}
	_, err = cl.CreateBackendapiMappingRule(b.ID, with("delta", "abc"))
	apiErr(t, err, http.StatusUnprocessableEntity, "delta", "is not a number")
	_, err = cl.CreateBackendapiMappingRule(b.ID, with("delta", "0"))
	apiErr(t, err, http.StatusUnprocessableEntity, "delta")
	_, err = cl.CreateBackendapiMappingRule(b.ID, with("pattern", "rows"))
	apiErr(t, err, http.StatusUnprocessableEntity, "pattern")
	_, err = cl.CreateBackendapiMappingRule(b.ID, with("http_method", "FETCH"))
	apiErr(t, err, http.StatusUnprocessableEntity, "http_method")
	_, err = cl.CreateBackendapiMappingRule(b.ID, with("metric_id", "987654"))
	assert.True(t, client.IsNotFound(err), "%v", err)
	other := bkBackend(t, cl, "Other Routed")
	_, err = cl.CreateBackendapiMappingRule(other.ID, base)
	assert.True(t, client.IsNotFound(err), "a metric of another backend: %v", err)
	_, err = cl.BackendapiMappingRule(other.ID, r.ID)
	assert.True(t, client.IsNotFound(err), "%v", err)
	_, err = cl.ListBackendapiMappingRules(987654)
	assert.True(t, client.IsNotFound(err), "%v", err)
	_, err = cl.UpdateBackendapiMappingRule(b.ID, r.ID, client.Params{"delta": "x"})
	apiErr(t, err, http.StatusUnprocessableEntity, "delta")

	// A metric's rules go with it.
	require.NoError(t, cl.DeleteBackendapiMappingRule(b.ID, r.ID))
	_, err = cl.BackendapiMappingRule(b.ID, r.ID)
	assert.True(t, client.IsNotFound(err), "%v", err)
	third, err := cl.CreateBackendapiMappingRule(b.ID, with("metric_id", strconv.FormatInt(rows.ID, 10)))
	require.NoError(t, err)
	require.NoError(t, cl.DeleteBackendApiMetric(b.ID, rows.ID))
	_, err = cl.BackendapiMappingRule(b.ID, third.Element.ID)
	assert.True(t, client.IsNotFound(err), "%v", err)
	rules, err = cl.ListBackendapiMappingRules(b.ID)
	require.NoError(t, err)
	require.Len(t, rules.MappingRules, 1)
	assert.Equal(t, second.Element, rules.MappingRules[0].Element)
}

func TestBackendsUsages(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	svc := createProduct(t, cl, "Composite Product", nil)
	b1 := bkBackend(t, cl, "First Backend")
	b2 := bkBackend(t, cl, "Second Backend")

	usages, err := cl.ListBackendapiUsages(svc)
	require.NoError(t, err)
	assert.Empty(t, usages)

	created, err := cl.CreateBackendapiUsage(svc, client.Params{"backend_api_id": strconv.FormatInt(b1.ID, 10), "path": "/v1"})
	require.NoError(t, err)
	u1 := created.Element
	assert.NotZero(t, u1.ID)
	assert.Equal(t, "/v1", u1.Path)
	assert.Equal(t, svc, u1.ProductID)
	assert.Equal(t, b1.ID, u1.BackendAPIID)

	read, err := cl.BackendapiUsage(svc, u1.ID)
	require.NoError(t, err)
	assert.Equal(t, u1, read.Element)

	// The path defaults to "/".
	created, err = cl.CreateBackendapiUsage(svc, client.Params{"backend_api_id": strconv.FormatInt(b2.ID, 10)})
	require.NoError(t, err)
	u2 := created.Element
	assert.Equal(t, "/", u2.Path)
	assert.Equal(t, svc, u2.ProductID)
	assert.Equal(t, b2.ID, u2.BackendAPIID)

	// The list is a bare JSON array.
	status, body := formCall(t, co, http.MethodGet, "/admin/api/services/"+strconv.FormatInt(svc, 10)+"/backend_usages.json", nil)
	require.Equal(t, http.StatusOK, status)
	require.True(t, len(body) > 0 && body[0] == '[', string(body))
	usages, err = cl.ListBackendapiUsages(svc)
	require.NoError(t, err)
	require.Len(t, usages, 2)
	assert.Equal(t, u1, usages[0].Element)
	assert.Equal(t, u2, usages[1].Element)

	updated, err := cl.UpdateBackendapiUsage(svc, u1.ID, client.Params{"path": "/v2", "backend_api_id": strconv.FormatInt(b2.ID, 10)})
	require.NoError(t, err)
	assert.Equal(t, u1.ID, updated.Element.ID)
	assert.Equal(t, "/v2", updated.Element.Path)
	assert.Equal(t, svc, updated.Element.ProductID)
	assert.Equal(t, b1.ID, updated.Element.BackendAPIID, "only the path changes")
	read, err = cl.BackendapiUsage(svc, u1.ID)
	require.NoError(t, err)
	assert.Equal(t, updated.Element, read.Element)

	// A used backend cannot be deleted.
	apiErr(t, cl.DeleteBackendApi(b1.ID), http.StatusUnprocessableEntity, "base")
	_, err = cl.BackendApi(b1.ID)
	require.NoError(t, err)

	// Bad input and unknown ids.
	_, err = cl.CreateBackendapiUsage(svc, client.Params{"backend_api_id": strconv.FormatInt(b1.ID, 10), "path": "/other"})
	apiErr(t, err, http.StatusUnprocessableEntity, "backend_api_id", "taken")
	b3 := bkBackend(t, cl, "Third Backend")
	_, err = cl.CreateBackendapiUsage(svc, client.Params{"backend_api_id": strconv.FormatInt(b3.ID, 10), "path": "/{id}"})
	apiErr(t, err, http.StatusUnprocessableEntity, "path")
	_, err = cl.CreateBackendapiUsage(svc, client.Params{"path": "/x"})
	apiErr(t, err, http.StatusUnprocessableEntity, "backend_api_id")
	_, err = cl.CreateBackendapiUsage(svc, client.Params{"backend_api_id": "abc"})
	apiErr(t, err, http.StatusUnprocessableEntity, "backend_api_id")
	_, err = cl.CreateBackendapiUsage(svc, client.Params{"backend_api_id": "987654"})
	assert.True(t, client.IsNotFound(err), "%v", err)
	_, err = cl.CreateBackendapiUsage(svc+1000, client.Params{"backend_api_id": strconv.FormatInt(b3.ID, 10)})
	assert.True(t, client.IsNotFound(err), "%v", err)
	_, err = cl.ListBackendapiUsages(svc + 1000)
	assert.True(t, client.IsNotFound(err), "%v", err)
	_, err = cl.BackendapiUsage(svc, 987654)
	assert.True(t, client.IsNotFound(err), "%v", err)
	_, err = cl.UpdateBackendapiUsage(svc, u1.ID, client.Params{"path": "bad path"})
	apiErr(t, err, http.StatusUnprocessableEntity, "path")
	otherSvc := createProduct(t, cl, "Other Composite", nil)
	_, err = cl.BackendapiUsage(otherSvc, u1.ID)
	assert.True(t, client.IsNotFound(err), "%v", err)

	usages, err = cl.ListBackendapiUsages(svc)
	require.NoError(t, err)
	require.Len(t, usages, 2, "refused writes leave nothing")

	require.NoError(t, cl.DeleteBackendapiUsage(svc, u1.ID))
	_, err = cl.BackendapiUsage(svc, u1.ID)
	assert.True(t, client.IsNotFound(err), "%v", err)
	usages, err = cl.ListBackendapiUsages(svc)
	require.NoError(t, err)
	require.Len(t, usages, 1)
	assert.Equal(t, u2, usages[0].Element)

	// No longer used, the backend goes; deleting the product drops its usages.
	require.NoError(t, cl.DeleteBackendApi(b1.ID))
	_, err = cl.BackendApi(b1.ID)
	assert.True(t, client.IsNotFound(err), "%v", err)
	require.NoError(t, cl.DeleteProduct(svc))
	require.NoError(t, cl.DeleteBackendApi(b2.ID))
}
