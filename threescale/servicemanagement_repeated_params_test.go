package threescale

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// apisonator reads its parameters with Rack, where a repeated name takes
// its last value and a form body's value wins over the query's
// (Rack::Request#params): usage[search]=5&usage[search]=1 asks for 1, and
// user_key=wrong&user_key=right names the right application. Reading the
// first value instead would decide, and count, what apisonator does not.
func TestRepeatedParameterTakesItsLastValue(t *testing.T) {
	sm, counters := newMemSM(t, "1")
	base := "service_token=" + memToken + "&service_id=10"

	// backend A's search is limited to 1 a day
	w := memGet(sm, "/transactions/authorize.xml", mustQuery(t, base+"&user_key="+memUserKey+"&usage[search]=5&usage[search]=1"))
	assert.Equal(t, http.StatusOK, w.Code, "usage[search] is 1: %s", w.Body)
	w = memGet(sm, "/transactions/authorize.xml", mustQuery(t, base+"&user_key="+memUserKey+"&usage[search]=1&usage[search]=5"))
	assert.Equal(t, http.StatusConflict, w.Code, "usage[search] is 5: %s", w.Body)

	w = memGet(sm, "/transactions/authrep.xml", mustQuery(t, base+"&user_key=wrong&user_key="+memUserKey+"&usage[hits]=1"))
	require.Equal(t, http.StatusOK, w.Code, "%s", w.Body)
	assert.EqualValues(t, 1, counters.Value(memApp, memHits, "eternity", time.Time{}))

	// report: the last value, and the body's over the query's
	req := httptest.NewRequest(http.MethodPost, "/transactions.xml?transactions[0][usage][hits]=100",
		strings.NewReader(base+"&transactions[0][user_key]="+memUserKey+
			"&transactions[0][usage][hits]=7&transactions[0][usage][hits]=2"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	sm.ServeHTTP(rec, req)
	require.Equal(t, http.StatusAccepted, rec.Code, "%s", rec.Body)
	assert.EqualValues(t, 3, counters.Value(memApp, memHits, "eternity", time.Time{}), "1 + the report's 2")
}

func mustQuery(t *testing.T, raw string) url.Values {
	t.Helper()
	q, err := url.ParseQuery(raw)
	require.NoError(t, err)
	return q
}
