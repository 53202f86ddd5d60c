package threescale

import (
	"encoding/xml"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// porta names a backend's metric "<system_name>.<backend id>" towards the
// gateway and apisonator: the proxy configuration stock APIcast loads gives
// a backend's mapping rules that metric_system_name (proxyconfig_content.go),
// and APIcast reports usage[search.20]=1. authorize, authrep and report take
// the name, for the same metric as "search", and the usage reports of
// authorize and authrep name a backend's metric so.
func TestBackendMetricExtendedNameIsUsage(t *testing.T) {
	sm, counters := newMemSM(t, "1")
	q := url.Values{"service_token": {memToken}, "service_id": {"10"}, "user_key": {memUserKey},
		"usage[search.20]": {"1"}}
	w := memGet(sm, "/transactions/authorize.xml", q)
	require.Equal(t, http.StatusOK, w.Code, "%s", w.Body)
	// the usage reports name the backends' two "search" as apisonator does
	var st struct {
		Reports []struct {
			Metric string `xml:"metric,attr"`
			Max    int64  `xml:"max_value"`
		} `xml:"usage_reports>usage_report"`
	}
	require.NoError(t, xml.Unmarshal(w.Body.Bytes(), &st), "%s", w.Body)
	names := map[string]int64{}
	for _, r := range st.Reports {
		names[r.Metric] = r.Max
	}
	assert.Equal(t, map[string]int64{"search.20": 1, "search.30": 0}, names, "%s", w.Body)
	w = memGet(sm, "/transactions/authrep.xml", q)
	require.Equal(t, http.StatusOK, w.Code, "%s", w.Body)
	assert.EqualValues(t, 1, counters.Value(memApp, memSearchA, "eternity", time.Time{}), "backend A's search counted")
	assert.EqualValues(t, 1, counters.Value(memApp, 21, "eternity", time.Time{}), "and its parent, backend A's hits")
	w = memGet(sm, "/transactions/authrep.xml", q)
	assert.Equal(t, http.StatusConflict, w.Code, "backend A's search is limited to 1 a day: %s", w.Body)

	// backend B's search is disabled (limit 0): its extended name names it, not A's
	q.Del("usage[search.20]")
	q.Set("usage[search.30]", "1")
	w = memGet(sm, "/transactions/authorize.xml", q)
	assert.Equal(t, http.StatusConflict, w.Code, "%s", w.Body)

	w = memPost(sm, url.Values{"service_token": {memToken}, "service_id": {"10"},
		"transactions[0][user_key]": {memUserKey}, "transactions[0][usage][hits.30]": {"2"}}.Encode())
	require.Equal(t, http.StatusAccepted, w.Code, "%s", w.Body)
	assert.EqualValues(t, 2, counters.Value(memApp, 31, "eternity", time.Time{}), "backend B's hits counted")

	// a backend the product does not use is no part of its names
	q.Del("usage[search.30]")
	q.Set("usage[search.99]", "1")
	w = memGet(sm, "/transactions/authorize.xml", q)
	assert.Equal(t, http.StatusNotFound, w.Code, "%s", w.Body)
	assert.Equal(t, "metric_invalid", smErrorCode(w.Body.Bytes()))
}
