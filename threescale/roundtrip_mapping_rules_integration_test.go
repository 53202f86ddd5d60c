package threescale_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

type mappingRuleJSON struct {
	ID         int64  `json:"id"`
	MetricID   int64  `json:"metric_id"`
	Pattern    string `json:"pattern"`
	HTTPMethod string `json:"http_method"`
	Delta      int64  `json:"delta"`
	Position   int64  `json:"position"`
	Last       bool   `json:"last"`
}

// A product's mapping rule through every operation 3scale routes for it,
// PATCH as well as PUT: each change read back.
func TestRoundTripProductMappingRules(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	product := createProduct(t, cl, "Rules", nil)
	hits := productHits(t, cl, product)
	base := "/admin/api/services/" + s64(product) + "/proxy/mapping_rules"

	var created map[string]mappingRuleJSON
	decodeCall(t, co, http.MethodPost, base+".json", url.Values{
		"http_method": {"GET"}, "pattern": {"/books/{id}"}, "metric_id": {s64(hits)}, "delta": {"2"},
	}, http.StatusCreated, &created)
	rule := created["mapping_rule"]
	require.NotZero(t, rule.ID)
	assert.Equal(t, mappingRuleJSON{ID: rule.ID, MetricID: hits, Pattern: "/books/{id}", HTTPMethod: "GET", Delta: 2, Position: rule.Position}, rule)
	member := base + "/" + s64(rule.ID)

	var read map[string]mappingRuleJSON
	decodeCall(t, co, http.MethodGet, member+".json", nil, http.StatusOK, &read)
	assert.Equal(t, rule, read["mapping_rule"])
	var list struct {
		MappingRules []map[string]mappingRuleJSON `json:"mapping_rules"`
	}
	decodeCall(t, co, http.MethodGet, base+".json", nil, http.StatusOK, &list)
	require.Len(t, list.MappingRules, 1)
	assert.Equal(t, rule, list.MappingRules[0]["mapping_rule"])

	// PATCH changes what it is given and keeps the rest.
	var patched map[string]mappingRuleJSON
	decodeCall(t, co, http.MethodPatch, member+".json", url.Values{"pattern": {"/books/{id}$"}, "last": {"true"}},
		http.StatusOK, &patched)
	want := rule
	want.Pattern, want.Last = "/books/{id}$", true
	assert.Equal(t, want, patched["mapping_rule"])
	decodeCall(t, co, http.MethodPut, member+".json", url.Values{"http_method": {"POST"}, "delta": {"5"}}, http.StatusOK, &patched)
	want.HTTPMethod, want.Delta = "POST", 5
	assert.Equal(t, want, patched["mapping_rule"])
	decodeCall(t, co, http.MethodGet, member+".json", nil, http.StatusOK, &read)
	assert.Equal(t, want, read["mapping_rule"])

	// The XML read shows the same rule.
	var x struct {
		Pattern    string `xml:"pattern"`
		HTTPMethod string `xml:"http_method"`
		Delta      int64  `xml:"delta"`
		Last       bool   `xml:"last"`
	}
	decodeCall(t, co, http.MethodGet, member+".xml", nil, http.StatusOK, &x)
	assert.Equal(t, "/books/{id}$", x.Pattern)
	assert.Equal(t, "POST", x.HTTPMethod)
	assert.EqualValues(t, 5, x.Delta)
	assert.True(t, x.Last)

	status, body := rawCall(t, co, http.MethodDelete, member+".json", "", "")
	require.Equal(t, http.StatusOK, status, "%s", body)
	status, _ = rawCall(t, co, http.MethodGet, member+".json", "", "")
	assert.Equal(t, http.StatusNotFound, status)
	status, _ = rawCall(t, co, http.MethodPatch, member+".json", "application/x-www-form-urlencoded", "delta=3")
	assert.Equal(t, http.StatusNotFound, status)
}
