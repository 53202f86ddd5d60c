package threescale_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// A metric_name several backends of a product share names the metric of
// the backend added first, at every call, as the gateway and the Service
// Management API resolve it (README): it was one of them picked by map
// order, another at each call. The product's own metric comes first; an
// extended name ("orders.42") names that backend's.
func TestUsageOfAMetricNameBackendsShareIsTheFirstBackends(t *testing.T) {
	co := testenv.StartCoordinator(t)
	svc := co.Create(t, "/admin/api/services.json", "name=Shop&system_name=shop")
	var backends, orders []string
	for i, name := range []string{"One", "Two"} {
		b := co.Create(t, "/admin/api/backend_apis.json", "name="+name+"&private_endpoint=http://127.0.0.1:9")
		backends = append(backends, b)
		orders = append(orders, co.Create(t, "/admin/api/backend_apis/"+b+"/metrics.json", "friendly_name=Orders&system_name=orders&unit=hit"))
		co.Create(t, "/admin/api/services/"+svc+"/backend_usages.json", "backend_api_id="+b+"&path=/b"+s64(int64(i)))
	}
	lone := co.Create(t, "/admin/api/backend_apis/"+backends[1]+"/metrics.json", "friendly_name=Refunds&system_name=refunds&unit=hit")
	usage := "/stats/services/" + svc + "/usage.json?period=day&metric_name="

	metricOf := func(name string) string {
		status, body := rawCall(t, co, http.MethodGet, usage+name, "", "")
		require.Equal(t, http.StatusOK, status, "%s", body)
		var out struct {
			Metric struct {
				ID json.Number `json:"id"`
			} `json:"metric"`
		}
		require.NoError(t, json.NewDecoder(strings.NewReader(string(body))).Decode(&out))
		return out.Metric.ID.String()
	}
	for range 20 {
		require.Equal(t, orders[0], metricOf("orders"))
	}
	assert.Equal(t, orders[0], metricOf("orders."+backends[0]))
	assert.Equal(t, orders[1], metricOf("orders."+backends[1]))
	assert.Equal(t, lone, metricOf("refunds"))
}

// The product's own metric of a name wins over its backends'.
func TestUsageOfAMetricNameTheProductHasIsTheProducts(t *testing.T) {
	co := testenv.StartCoordinator(t)
	svc := co.Create(t, "/admin/api/services.json", "name=Shop&system_name=shop")
	b := co.Create(t, "/admin/api/backend_apis.json", "name=One&private_endpoint=http://127.0.0.1:9")
	co.Create(t, "/admin/api/backend_apis/"+b+"/metrics.json", "friendly_name=Orders&system_name=orders&unit=hit")
	co.Create(t, "/admin/api/services/"+svc+"/backend_usages.json", "backend_api_id="+b+"&path=/")
	own := co.Create(t, "/admin/api/services/"+svc+"/metrics.json", "friendly_name=Orders&system_name=orders&unit=hit")
	for range 10 {
		status, body := rawCall(t, co, http.MethodGet, "/stats/services/"+svc+"/usage.json?period=day&metric_name=orders", "", "")
		require.Equal(t, http.StatusOK, status, "%s", body)
		assert.Contains(t, string(body), `"metric":{"id":`+own+`,`)
	}
}
