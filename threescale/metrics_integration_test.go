package threescale_test

import (
	"encoding/xml"
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

// xmlMethod is the <method> element 3scale mixes into XML metric lists.
type xmlMethod struct {
	ID           string `xml:"id"`
	Name         string `xml:"name"`
	SystemName   string `xml:"system_name"`
	FriendlyName string `xml:"friendly_name"`
	ServiceID    string `xml:"service_id"`
	Description  string `xml:"description"`
	MetricID     string `xml:"metric_id"`
}

func TestMetricsLegacyXML(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	svc := createProduct(t, cl, "Legacy Metrics", nil)
	sid := strconv.FormatInt(svc, 10)

	ml, err := cl.ListMetrics(sid)
	require.NoError(t, err)
	require.Len(t, ml.Metrics, 1)
	hits := ml.Metrics[0]
	assert.NotEmpty(t, hits.ID)
	assert.Equal(t, "hits", hits.MetricName)
	assert.Equal(t, "hits", hits.SystemName)
	assert.Equal(t, "Hits", hits.FriendlyName)
	assert.Equal(t, sid, hits.ServiceID)
	assert.Equal(t, "Number of API hits", hits.Description)
	assert.Equal(t, "hit", hits.Unit)

	// CreateMetric sends its name as friendly_name.
	m, err := cl.CreateMetric(sid, "Page Views", "Pages served", "view")
	require.NoError(t, err)
	assert.NotEmpty(t, m.ID)
	assert.NotEqual(t, hits.ID, m.ID)
	assert.Equal(t, "page_views", m.MetricName)
	assert.Equal(t, "page_views", m.SystemName)
	assert.Equal(t, "Page Views", m.FriendlyName)
	assert.Equal(t, sid, m.ServiceID)
	assert.Equal(t, "Pages served", m.Description)
	assert.Equal(t, "view", m.Unit)

	ml, err = cl.ListMetrics(sid)
	require.NoError(t, err)
	require.Len(t, ml.Metrics, 2)
	assert.Equal(t, hits.ID, ml.Metrics[0].ID)
	m.XMLName = ml.Metrics[1].XMLName
	assert.Equal(t, m, ml.Metrics[1])

	u, err := cl.UpdateMetric(sid, m.ID, client.Params{"friendly_name": "Pages", "unit": "page", "description": "All pages"})
	require.NoError(t, err)
	assert.Equal(t, m.ID, u.ID)
	assert.Equal(t, "page_views", u.MetricName)
	assert.Equal(t, "page_views", u.SystemName)
	assert.Equal(t, "Pages", u.FriendlyName)
	assert.Equal(t, sid, u.ServiceID)
	assert.Equal(t, "All pages", u.Description)
	assert.Equal(t, "page", u.Unit)

	// Read has no client call: decode the XML with the client's type.
	status, body := formCall(t, co, http.MethodGet, "/admin/api/services/"+sid+"/metrics/"+m.ID+".xml", nil)
	require.Equal(t, http.StatusOK, status, string(body))
	var read client.Metric
	require.NoError(t, xml.Unmarshal(body, &read))
	u.XMLName = read.XMLName
	assert.Equal(t, u, read)

	// The deprecated name parameter sets system_name.
	status, body = formCall(t, co, http.MethodPost, "/admin/api/services/"+sid+"/metrics.xml",
		url.Values{"name": {"legacy_calls"}, "friendly_name": {"Legacy Calls"}, "unit": {"call"}})
	require.Equal(t, http.StatusCreated, status, string(body))
	var legacy client.Metric
	require.NoError(t, xml.Unmarshal(body, &legacy))
	assert.Equal(t, "legacy_calls", legacy.SystemName)
	assert.Equal(t, "legacy_calls", legacy.MetricName)
	assert.Equal(t, "Legacy Calls", legacy.FriendlyName)

	// XML lists show methods as <method> with their parent as metric_id.
	hitsID, err := strconv.ParseInt(hits.ID, 10, 64)
	require.NoError(t, err)
	method, err := cl.CreateProductMethod(svc, hitsID, client.Params{"friendly_name": "Ping", "description": "GET /ping"})
	require.NoError(t, err)
	status, body = formCall(t, co, http.MethodGet, "/admin/api/services/"+sid+"/metrics.xml", nil)
	require.Equal(t, http.StatusOK, status)
	var all struct {
		Metrics []client.Metric `xml:"metric"`
		Methods []xmlMethod     `xml:"method"`
	}
	require.NoError(t, xml.Unmarshal(body, &all))
	assert.Len(t, all.Metrics, 3)
	require.Len(t, all.Methods, 1)
	assert.Equal(t, xmlMethod{
		ID: strconv.FormatInt(method.Element.ID, 10), Name: "ping", SystemName: "ping", FriendlyName: "Ping",
		ServiceID: sid, Description: "GET /ping", MetricID: hits.ID,
	}, all.Methods[0])
	ml, err = cl.ListMetrics(sid)
	require.NoError(t, err)
	assert.Len(t, ml.Metrics, 3, "the client's list keeps the <metric> elements")

	// The methods endpoints answer XML too.
	status, body = formCall(t, co, http.MethodGet, "/admin/api/services/"+sid+"/metrics/"+hits.ID+"/methods.xml", nil)
	require.Equal(t, http.StatusOK, status)
	var methods struct {
		XMLName xml.Name
		Methods []xmlMethod `xml:"method"`
	}
	require.NoError(t, xml.Unmarshal(body, &methods))
	assert.Equal(t, "methods", methods.XMLName.Local)
	require.Len(t, methods.Methods, 1)
	assert.Equal(t, all.Methods[0], methods.Methods[0])

	require.NoError(t, cl.DeleteMetric(sid, m.ID))
	status, _ = formCall(t, co, http.MethodGet, "/admin/api/services/"+sid+"/metrics/"+m.ID+".xml", nil)
	assert.Equal(t, http.StatusNotFound, status)
	ml, err = cl.ListMetrics(sid)
	require.NoError(t, err)
	for _, x := range ml.Metrics {
		assert.NotEqual(t, m.ID, x.ID)
	}

	// Errors: unknown service or metric, missing friendly name, hits.
	_, err = cl.CreateMetric("987654", "X", "", "u")
	assert.True(t, client.IsNotFound(err), "%v", err)
	_, err = cl.ListMetrics("987654")
	assert.True(t, client.IsNotFound(err), "%v", err)
	_, err = cl.UpdateMetric(sid, m.ID, client.Params{"friendly_name": "Gone"})
	assert.True(t, client.IsNotFound(err), "%v", err)
	assert.True(t, client.IsNotFound(cl.DeleteMetric(sid, m.ID)))
	_, err = cl.CreateMetric(sid, "", "", "u")
	apiErr(t, err, http.StatusUnprocessableEntity)
	apiErr(t, cl.DeleteMetric(sid, hits.ID), http.StatusUnprocessableEntity)
}

func TestMetricsProductMappingRulesJSON(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	svc := createProduct(t, cl, "Rules Product", nil)
	list, err := cl.ListProductMetrics(svc)
	require.NoError(t, err)
	hits := findHits(t, list.Metrics)
	bytesMetric, err := cl.CreateProductMetric(svc, client.Params{"friendly_name": "Bytes", "unit": "byte"})
	require.NoError(t, err)

	rules, err := cl.ListProductMappingRules(svc)
	require.NoError(t, err)
	assert.Empty(t, rules.MappingRules)

	created, err := cl.CreateProductMappingRule(svc, client.Params{
		"http_method": "post", "pattern": "/widgets/{id}", "delta": "3",
		"metric_id": strconv.FormatInt(hits.ID, 10), "last": "true",
	})
	require.NoError(t, err)
	r := created.Element
	assert.NotZero(t, r.ID)
	assert.Equal(t, hits.ID, r.MetricID)
	assert.Equal(t, "/widgets/{id}", r.Pattern)
	assert.Equal(t, "POST", r.HTTPMethod)
	assert.Equal(t, 3, r.Delta)
	assert.Equal(t, 1, r.Position)
	assert.True(t, r.Last)
	createdAt := parseTime(t, r.CreatedAt)
	assert.Equal(t, createdAt, parseTime(t, r.UpdatedAt))

	read, err := cl.ProductMappingRule(svc, r.ID)
	require.NoError(t, err)
	assert.Equal(t, r, read.Element)

	// delta defaults to 1; position to the end.
	second, err := cl.CreateProductMappingRule(svc, client.Params{
		"http_method": "GET", "pattern": "/widgets$", "metric_id": strconv.FormatInt(bytesMetric.Element.ID, 10),
	})
	require.NoError(t, err)
	s := second.Element
	assert.Equal(t, 1, s.Delta)
	assert.Equal(t, 2, s.Position)
	assert.False(t, s.Last)
	assert.Equal(t, bytesMetric.Element.ID, s.MetricID)
	assert.Equal(t, "GET", s.HTTPMethod)
	assert.Equal(t, "/widgets$", s.Pattern)

	rules, err = cl.ListProductMappingRules(svc)
	require.NoError(t, err)
	require.Len(t, rules.MappingRules, 2)
	assert.Equal(t, r, rules.MappingRules[0].Element)
	assert.Equal(t, s, rules.MappingRules[1].Element)

	time.Sleep(1100 * time.Millisecond)
	updated, err := cl.UpdateProductMappingRule(svc, r.ID, client.Params{
		"http_method": "PUT", "pattern": "/gadgets/{id}", "delta": "5", "position": "3", "last": "false",
		"metric_id": strconv.FormatInt(bytesMetric.Element.ID, 10),
	})
	require.NoError(t, err)
	u := updated.Element
	assert.Equal(t, r.ID, u.ID)
	assert.Equal(t, bytesMetric.Element.ID, u.MetricID)
	assert.Equal(t, "/gadgets/{id}", u.Pattern)
	assert.Equal(t, "PUT", u.HTTPMethod)
	assert.Equal(t, 5, u.Delta)
	assert.Equal(t, 3, u.Position)
	assert.False(t, u.Last)
	assert.Equal(t, createdAt, parseTime(t, u.CreatedAt))
	assert.True(t, parseTime(t, u.UpdatedAt).After(createdAt))

	read, err = cl.ProductMappingRule(svc, r.ID)
	require.NoError(t, err)
	assert.Equal(t, u, read.Element)

	// Listed by position, as 3scale's proxy rules are.
	rules, err = cl.ListProductMappingRules(svc)
	require.NoError(t, err)
	require.Len(t, rules.MappingRules, 2)
	assert.Equal(t, s, rules.MappingRules[0].Element)
	assert.Equal(t, u, rules.MappingRules[1].Element)

	status, body := formCall(t, co, http.MethodGet, "/admin/api/services/"+strconv.FormatInt(svc, 10)+"/proxy/mapping_rules/"+strconv.FormatInt(r.ID, 10)+".json", nil)
	require.Equal(t, http.StatusOK, status)
	assert.NotContains(t, string(body), "owner_")

	require.NoError(t, cl.DeleteProductMappingRule(svc, r.ID))
	_, err = cl.ProductMappingRule(svc, r.ID)
	assert.True(t, client.IsNotFound(err), "%v", err)
	rules, err = cl.ListProductMappingRules(svc)
	require.NoError(t, err)
	require.Len(t, rules.MappingRules, 1)
	assert.Equal(t, s, rules.MappingRules[0].Element)
}

func TestMetricsProductMappingRulesBadInput(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	svc := createProduct(t, cl, "Bad Rules", nil)
	list, err := cl.ListProductMetrics(svc)
	require.NoError(t, err)
	hits := strconv.FormatInt(findHits(t, list.Metrics).ID, 10)
	valid := func(over map[string]string) client.Params {
		p := client.Params{"http_method": "GET", "pattern": "/", "metric_id": hits}
		for k, v := range over {
			if v == "" {
				delete(p, k)
			} else {
				p[k] = v
			}
		}
		return p
	}

	_, err = cl.CreateProductMappingRule(svc, valid(map[string]string{"delta": "abc"}))
	apiErr(t, err, http.StatusUnprocessableEntity, "delta", "is not a number")
	_, err = cl.CreateProductMappingRule(svc, valid(map[string]string{"delta": "0"}))
	apiErr(t, err, http.StatusUnprocessableEntity, "delta")
	_, err = cl.CreateProductMappingRule(svc, valid(map[string]string{"delta": "-2"}))
	apiErr(t, err, http.StatusUnprocessableEntity, "delta")
	_, err = cl.CreateProductMappingRule(svc, valid(map[string]string{"pattern": "no-slash"}))
	apiErr(t, err, http.StatusUnprocessableEntity, "pattern")
	_, err = cl.CreateProductMappingRule(svc, valid(map[string]string{"pattern": ""}))
	apiErr(t, err, http.StatusUnprocessableEntity, "pattern")
	_, err = cl.CreateProductMappingRule(svc, valid(map[string]string{"http_method": "BREW"}))
	apiErr(t, err, http.StatusUnprocessableEntity, "http_method")
	_, err = cl.CreateProductMappingRule(svc, valid(map[string]string{"metric_id": ""}))
	apiErr(t, err, http.StatusUnprocessableEntity, "metric_id")
	_, err = cl.CreateProductMappingRule(svc, valid(map[string]string{"metric_id": "abc"}))
	apiErr(t, err, http.StatusUnprocessableEntity, "metric_id")
	_, err = cl.CreateProductMappingRule(svc, valid(map[string]string{"last": "maybe"}))
	apiErr(t, err, http.StatusUnprocessableEntity, "last")

	// Unknown ids are 404, also a metric of another product.
	_, err = cl.CreateProductMappingRule(svc, valid(map[string]string{"metric_id": "987654"}))
	assert.True(t, client.IsNotFound(err), "%v", err)
	other := createProduct(t, cl, "Other Rules", nil)
	otherMetrics, err := cl.ListProductMetrics(other)
	require.NoError(t, err)
	_, err = cl.CreateProductMappingRule(svc, valid(map[string]string{"metric_id": strconv.FormatInt(findHits(t, otherMetrics.Metrics).ID, 10)}))
	assert.True(t, client.IsNotFound(err), "%v", err)
	_, err = cl.CreateProductMappingRule(svc+1000, valid(nil))
	assert.True(t, client.IsNotFound(err), "%v", err)
	_, err = cl.ListProductMappingRules(svc + 1000)
	assert.True(t, client.IsNotFound(err), "%v", err)
	_, err = cl.ProductMappingRule(svc, 987654)
	assert.True(t, client.IsNotFound(err), "%v", err)

	r, err := cl.CreateProductMappingRule(svc, valid(nil))
	require.NoError(t, err)
	_, err = cl.UpdateProductMappingRule(svc, r.Element.ID, client.Params{"delta": "0"})
	apiErr(t, err, http.StatusUnprocessableEntity, "delta")
	_, err = cl.UpdateProductMappingRule(svc, r.Element.ID, client.Params{"pattern": "/a b"})
	apiErr(t, err, http.StatusUnprocessableEntity, "pattern")
	_, err = cl.ProductMappingRule(other, r.Element.ID)
	assert.True(t, client.IsNotFound(err), "%v", err)

	read, err := cl.ProductMappingRule(svc, r.Element.ID)
	require.NoError(t, err)
	assert.Equal(t, r.Element, read.Element, "refused updates change nothing")
	rules, err := cl.ListProductMappingRules(svc)
	require.NoError(t, err)
	assert.Len(t, rules.MappingRules, 1)
}

func TestMetricsMappingRulesLegacyXML(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	svc := createProduct(t, cl, "Legacy Rules", nil)
	sid := strconv.FormatInt(svc, 10)
	ml, err := cl.ListMetrics(sid)
	require.NoError(t, err)
	hits := ml.Metrics[0].ID
	other, err := cl.CreateMetric(sid, "Other", "", "unit")
	require.NoError(t, err)

	mrl, err := cl.ListMappingRule(sid)
	require.NoError(t, err)
	assert.Empty(t, mrl.MappingRules)

	r, err := cl.CreateMappingRule(sid, "get", "/items/{id}", 2, hits)
	require.NoError(t, err)
	assert.NotEmpty(t, r.ID)
	assert.Equal(t, hits, r.MetricID)
	assert.Equal(t, "/items/{id}", r.Pattern)
	assert.Equal(t, "GET", r.HTTPMethod)
	assert.Equal(t, "2", r.Delta)
	createdAt := parseTime(t, r.CreatedAt)
	assert.Equal(t, createdAt, parseTime(t, r.UpdatedAt))

	mrl, err = cl.ListMappingRule(sid)
	require.NoError(t, err)
	require.Len(t, mrl.MappingRules, 1)
	assert.Equal(t, r, mrl.MappingRules[0])

	time.Sleep(1100 * time.Millisecond)
	u, err := cl.UpdateMappingRule(sid, r.ID, client.Params{"http_method": "DELETE", "pattern": "/items", "delta": "4", "metric_id": other.ID})
	require.NoError(t, err)
	assert.Equal(t, r.ID, u.ID)
	assert.Equal(t, other.ID, u.MetricID)
	assert.Equal(t, "/items", u.Pattern)
	assert.Equal(t, "DELETE", u.HTTPMethod)
	assert.Equal(t, "4", u.Delta)
	assert.Equal(t, createdAt, parseTime(t, u.CreatedAt))
	assert.True(t, parseTime(t, u.UpdatedAt).After(createdAt))

	// Read has no client call: decode with the client's type.
	status, body := formCall(t, co, http.MethodGet, "/admin/api/services/"+sid+"/proxy/mapping_rules/"+r.ID+".xml", nil)
	require.Equal(t, http.StatusOK, status, string(body))
	var read client.MappingRule
	require.NoError(t, xml.Unmarshal(body, &read))
	assert.Equal(t, u, read)
	mrl, err = cl.ListMappingRule(sid)
	require.NoError(t, err)
	require.Len(t, mrl.MappingRules, 1)
	assert.Equal(t, u, mrl.MappingRules[0])

	// Bad input in XML: 422 with Rails' messages; the client cannot decode
	// <errors>, but keeps the status.
	_, err = cl.CreateMappingRule(sid, "GET", "nope", 1, hits)
	apiErr(t, err, http.StatusUnprocessableEntity)
	status, body = formCall(t, co, http.MethodPost, "/admin/api/services/"+sid+"/proxy/mapping_rules.xml",
		url.Values{"http_method": {"GET"}, "pattern": {"nope"}, "delta": {"0"}, "metric_id": {hits}})
	assert.Equal(t, http.StatusUnprocessableEntity, status)
	assert.Contains(t, string(body), "<error>Pattern ")
	assert.Contains(t, string(body), "<error>Delta must be greater than 0</error>")
	status, body = formCall(t, co, http.MethodPost, "/admin/api/services/"+sid+"/proxy/mapping_rules.xml",
		url.Values{"http_method": {"GET"}, "pattern": {"/"}, "delta": {"abc"}, "metric_id": {hits}})
	assert.Equal(t, http.StatusUnprocessableEntity, status)
	assert.Contains(t, string(body), "<error>Delta is not a number</error>")
	_, err = cl.CreateMappingRule(sid, "GET", "/", 1, "987654")
	assert.True(t, client.IsNotFound(err), "%v", err)
	_, err = cl.CreateMappingRule("987654", "GET", "/", 1, hits)
	assert.True(t, client.IsNotFound(err), "%v", err)

	require.NoError(t, cl.DeleteMappingRule(sid, r.ID))
	mrl, err = cl.ListMappingRule(sid)
	require.NoError(t, err)
	assert.Empty(t, mrl.MappingRules)
	assert.True(t, client.IsNotFound(cl.DeleteMappingRule(sid, r.ID)))
	_, err = cl.UpdateMappingRule(sid, r.ID, client.Params{"delta": "2"})
	assert.True(t, client.IsNotFound(err), "%v", err)
}
