package threescale_test

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/3scale/3scale-porta-go-client/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

func TestMetricsProductMetricsJSON(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	svc := createProduct(t, cl, "Metrics Product", nil)

	list, err := cl.ListProductMetrics(svc)
	require.NoError(t, err)
	require.Len(t, list.Metrics, 1)
	hits := findHits(t, list.Metrics)
	assert.Equal(t, "Hits", hits.Name)
	assert.Equal(t, "hit", hits.Unit)
	assert.Equal(t, "Number of API hits", hits.Description)
	assert.NotZero(t, hits.ID)

	created, err := cl.CreateProductMetric(svc, client.Params{
		"friendly_name": "Bytes Sent", "system_name": "bytes_sent", "unit": "byte", "description": "Bytes out",
	})
	require.NoError(t, err)
	m := created.Element
	assert.NotZero(t, m.ID)
	assert.Equal(t, "Bytes Sent", m.Name)
	assert.Equal(t, "bytes_sent", m.SystemName)
	assert.Equal(t, "byte", m.Unit)
	assert.Equal(t, "Bytes out", m.Description)
	createdAt := parseTime(t, m.CreatedAt)
	assert.Equal(t, createdAt, parseTime(t, m.UpdatedAt))

	read, err := cl.ProductMetric(svc, m.ID)
	require.NoError(t, err)
	assert.Equal(t, m, read.Element)

	// Without system_name one is derived from friendly_name.
	derived, err := cl.CreateProductMetric(svc, client.Params{"friendly_name": "Search Calls", "unit": "call"})
	require.NoError(t, err)
	assert.Equal(t, "search_calls", derived.Element.SystemName)
	assert.Equal(t, "Search Calls", derived.Element.Name)
	assert.Equal(t, "call", derived.Element.Unit)
	assert.Equal(t, "", derived.Element.Description)

	time.Sleep(1100 * time.Millisecond) // timestamps have whole seconds
	updated, err := cl.UpdateProductMetric(svc, m.ID, client.Params{
		"friendly_name": "Bytes Out", "unit": "kilobyte", "description": "Kilobytes out", "system_name": "renamed",
	})
	require.NoError(t, err)
	u := updated.Element
	assert.Equal(t, m.ID, u.ID)
	assert.Equal(t, "Bytes Out", u.Name)
	assert.Equal(t, "bytes_sent", u.SystemName, "system_name cannot change")
	assert.Equal(t, "kilobyte", u.Unit)
	assert.Equal(t, "Kilobytes out", u.Description)
	assert.Equal(t, createdAt, parseTime(t, u.CreatedAt))
	assert.True(t, parseTime(t, u.UpdatedAt).After(createdAt))

	read, err = cl.ProductMetric(svc, m.ID)
	require.NoError(t, err)
	assert.Equal(t, u, read.Element)

	list, err = cl.ListProductMetrics(svc)
	require.NoError(t, err)
	require.Len(t, list.Metrics, 3)
	assert.Equal(t, hits.ID, list.Metrics[0].Element.ID, "creation order")
	got, ok := findMetric(list.Metrics, m.ID)
	require.True(t, ok)
	assert.Equal(t, u, got)
	got, ok = findMetric(list.Metrics, derived.Element.ID)
	require.True(t, ok)
	assert.Equal(t, derived.Element, got)

	// The wire shape is 3scale's: no owner fields, the deprecated name.
	status, body := formCall(t, co, http.MethodGet, "/admin/api/services/"+strconv.FormatInt(svc, 10)+"/metrics/"+strconv.FormatInt(m.ID, 10)+".json", nil)
	require.Equal(t, http.StatusOK, status, string(body))
	assert.Contains(t, string(body), `"name":"bytes_sent"`)
	assert.NotContains(t, string(body), "owner_")
	assert.NotContains(t, string(body), "parent_id")

	require.NoError(t, cl.DeleteProductMetric(svc, m.ID))
	_, err = cl.ProductMetric(svc, m.ID)
	assert.True(t, client.IsNotFound(err), "%v", err)
	list, err = cl.ListProductMetrics(svc)
	require.NoError(t, err)
	require.Len(t, list.Metrics, 2)
	_, ok = findMetric(list.Metrics, m.ID)
	assert.False(t, ok)

	// 3scale refuses to delete hits.
	apiErr(t, cl.DeleteProductMetric(svc, hits.ID), http.StatusUnprocessableEntity, "system_name")
	_, err = cl.ProductMetric(svc, hits.ID)
	require.NoError(t, err)
}

func TestMetricsProductMethodsJSON(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	svc := createProduct(t, cl, "Methods Product", nil)
	list, err := cl.ListProductMetrics(svc)
	require.NoError(t, err)
	hits := findHits(t, list.Metrics)

	methods, err := cl.ListProductMethods(svc, hits.ID)
	require.NoError(t, err)
	assert.Empty(t, methods.Methods)

	created, err := cl.CreateProductMethod(svc, hits.ID, client.Params{
		"friendly_name": "Get Widgets", "system_name": "get_widgets", "description": "GET /widgets", "unit": "ignored",
	})
	require.NoError(t, err)
	m := created.Element
	assert.NotZero(t, m.ID)
	assert.Equal(t, "Get Widgets", m.Name)
	assert.Equal(t, "get_widgets", m.SystemName)
	assert.Equal(t, "GET /widgets", m.Description)
	assert.Equal(t, hits.ID, m.ParentID)
	createdAt := parseTime(t, m.CreatedAt)
	assert.Equal(t, createdAt, parseTime(t, m.UpdatedAt))

	read, err := cl.ProductMethod(svc, hits.ID, m.ID)
	require.NoError(t, err)
	assert.Equal(t, m, read.Element)

	methods, err = cl.ListProductMethods(svc, hits.ID)
	require.NoError(t, err)
	require.Len(t, methods.Methods, 1)
	assert.Equal(t, m, methods.Methods[0].Element)

	// As in 3scale, the metrics list holds the methods too, in the parent's unit.
	list, err = cl.ListProductMetrics(svc)
	require.NoError(t, err)
	require.Len(t, list.Metrics, 2)
	asMetric, ok := findMetric(list.Metrics, m.ID)
	require.True(t, ok)
	assert.Equal(t, "Get Widgets", asMetric.Name)
	assert.Equal(t, "get_widgets", asMetric.SystemName)
	assert.Equal(t, "hit", asMetric.Unit)
	status, body := formCall(t, co, http.MethodGet, "/admin/api/services/"+strconv.FormatInt(svc, 10)+"/metrics.json", nil)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, string(body), `"parent_id":`+strconv.FormatInt(hits.ID, 10))

	time.Sleep(1100 * time.Millisecond)
	updated, err := cl.UpdateProductMethod(svc, hits.ID, m.ID, client.Params{"friendly_name": "List Widgets", "description": "GET /widgets?all"})
	require.NoError(t, err)
	u := updated.Element
	assert.Equal(t, m.ID, u.ID)
	assert.Equal(t, "List Widgets", u.Name)
	assert.Equal(t, "get_widgets", u.SystemName)
	assert.Equal(t, "GET /widgets?all", u.Description)
	assert.Equal(t, hits.ID, u.ParentID)
	assert.Equal(t, createdAt, parseTime(t, u.CreatedAt))
	assert.True(t, parseTime(t, u.UpdatedAt).After(createdAt))

	read, err = cl.ProductMethod(svc, hits.ID, m.ID)
	require.NoError(t, err)
	assert.Equal(t, u, read.Element)

	// Methods live only under hits.
	other, err := cl.CreateProductMetric(svc, client.Params{"friendly_name": "Storage", "unit": "MB"})
	require.NoError(t, err)
	_, err = cl.CreateProductMethod(svc, other.Element.ID, client.Params{"friendly_name": "Nested"})
	apiErr(t, err, http.StatusUnprocessableEntity, "parent_id")
	_, err = cl.ProductMethod(svc, other.Element.ID, m.ID)
	assert.True(t, client.IsNotFound(err), "%v", err)
	methods, err = cl.ListProductMethods(svc, other.Element.ID)
	require.NoError(t, err)
	assert.Empty(t, methods.Methods)

	// Unknown service, metric or method.
	_, err = cl.ListProductMethods(svc+1000, hits.ID)
	assert.True(t, client.IsNotFound(err), "%v", err)
	_, err = cl.CreateProductMethod(svc, 987654, client.Params{"friendly_name": "X"})
	assert.True(t, client.IsNotFound(err), "%v", err)
	_, err = cl.ProductMethod(svc, hits.ID, 987654)
	assert.True(t, client.IsNotFound(err), "%v", err)
	_, err = cl.CreateProductMethod(svc, hits.ID, client.Params{"description": "no name"})
	apiErr(t, err, http.StatusUnprocessableEntity, "friendly_name")
	_, err = cl.CreateProductMethod(svc, hits.ID, client.Params{"friendly_name": "List Widgets"})
	apiErr(t, err, http.StatusUnprocessableEntity, "friendly_name", "taken")

	require.NoError(t, cl.DeleteProductMethod(svc, hits.ID, m.ID))
	_, err = cl.ProductMethod(svc, hits.ID, m.ID)
	assert.True(t, client.IsNotFound(err), "%v", err)
	methods, err = cl.ListProductMethods(svc, hits.ID)
	require.NoError(t, err)
	assert.Empty(t, methods.Methods)
	assert.True(t, client.IsNotFound(cl.DeleteProductMethod(svc, hits.ID, m.ID)))
}

func TestMetricsProductMetricsBadInput(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	svc := createProduct(t, cl, "Bad Metrics", nil)
	sid := strconv.FormatInt(svc, 10)

	_, err := cl.CreateProductMetric(svc, client.Params{"unit": "byte"})
	apiErr(t, err, http.StatusUnprocessableEntity, "friendly_name", "can't be blank")
	_, err = cl.CreateProductMetric(svc, client.Params{"friendly_name": "No Unit"})
	apiErr(t, err, http.StatusUnprocessableEntity, "unit")
	_, err = cl.CreateProductMetric(svc, client.Params{"friendly_name": "Hits", "unit": "hit"})
	apiErr(t, err, http.StatusUnprocessableEntity, "taken")
	_, err = cl.CreateProductMetric(svc, client.Params{"friendly_name": "Bad", "unit": "u", "system_name": "has space"})
	apiErr(t, err, http.StatusUnprocessableEntity, "system_name")

	_, err = cl.CreateProductMetric(svc+1000, client.Params{"friendly_name": "X", "unit": "u"})
	assert.True(t, client.IsNotFound(err), "%v", err)
	_, err = cl.ListProductMetrics(svc + 1000)
	assert.True(t, client.IsNotFound(err), "%v", err)
	_, err = cl.ProductMetric(svc, 987654)
	assert.True(t, client.IsNotFound(err), "%v", err)
	_, err = cl.UpdateProductMetric(svc, 987654, client.Params{"friendly_name": "X"})
	assert.True(t, client.IsNotFound(err), "%v", err)
	assert.True(t, client.IsNotFound(cl.DeleteProductMetric(svc, 987654)))

	list, err := cl.ListProductMetrics(svc)
	require.NoError(t, err)
	hits := findHits(t, list.Metrics)
	_, err = cl.UpdateProductMetric(svc, hits.ID, client.Params{"friendly_name": ""})
	apiErr(t, err, http.StatusUnprocessableEntity, "friendly_name")

	// Another service's metric is not found through this one.
	other := createProduct(t, cl, "Other Product", nil)
	_, err = cl.ProductMetric(other, hits.ID)
	assert.True(t, client.IsNotFound(err), "%v", err)

	// XML errors name the field the Rails way.
	status, body := formCall(t, co, http.MethodPost, "/admin/api/services/"+sid+"/metrics.xml", url.Values{"unit": {"u"}})
	assert.Equal(t, http.StatusUnprocessableEntity, status)
	assert.Contains(t, string(body), "<error>Friendly name can't be blank</error>")

	list, err = cl.ListProductMetrics(svc)
	require.NoError(t, err)
	assert.Len(t, list.Metrics, 1, "refused writes leave nothing")
}
