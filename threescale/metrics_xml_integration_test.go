package threescale_test

import (
	"encoding/xml"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/3scale/3scale-porta-go-client/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

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
