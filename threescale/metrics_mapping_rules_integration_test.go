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

	// Listed by position, as 3scale's proxy rules are; moving the first
	// rule down moved the one it passed up (acts_as_list).
	rules, err = cl.ListProductMappingRules(svc)
	require.NoError(t, err)
	require.Len(t, rules.MappingRules, 2)
	moved := rules.MappingRules[0].Element
	assert.Equal(t, s.ID, moved.ID)
	assert.Equal(t, 1, moved.Position)
	s.Position, s.UpdatedAt = moved.Position, moved.UpdatedAt
	assert.Equal(t, s, moved)
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
