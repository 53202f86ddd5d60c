package threescale

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// apisonator reads the 3scale-options header with
// Rack::Utils.parse_nested_query (Listener.threescale_extensions): a
// repeated option takes its last value, an option without "=" has no value
// (nil: as if not sent), and flat_usage, rejection_reason_header and
// limit_headers are on only for the value '1'. no_body is on for any value
// but '0' and 'false'.
func TestOptionsHeaderIsReadAsApisonatorReadsIt(t *testing.T) {
	sm, counters := newMemSM(t, "1")
	call := func(path, query, options string) *httptest.ResponseRecorder {
		t.Helper()
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodGet, path+"?service_token="+memToken+"&service_id=10&"+query, nil)
		r.Header.Set("3scale-options", options)
		sm.ServeHTTP(w, r)
		return w
	}
	refused := "user_key=" + memUserKey + "&usage[search]=5" // over backend A's 1 a day
	for _, tt := range []struct {
		options string
		reason  bool
	}{
		{"rejection_reason_header=1&rejection_reason_header=0", false},
		{"rejection_reason_header=0&rejection_reason_header=1", true},
		{"rejection_reason_header=true", false},
		{"rejection_reason_header=1&rejection_reason_header", false},
	} {
		w := call("/transactions/authorize.xml", refused, tt.options)
		require.Equal(t, http.StatusConflict, w.Code, "%s", w.Body)
		assert.Equal(t, tt.reason, w.Header().Get("3scale-rejection-reason") != "", "3scale-options: %s", tt.options)
	}

	allowed := "user_key=" + memUserKey + "&usage[search]=1"
	for _, tt := range []struct {
		options string
		limits  bool
	}{
		{"limit_headers=1&limit_headers=0", false},
		{"limit_headers=0&limit_headers=1", true},
		{"limit_headers=true", false},
	} {
		w := call("/transactions/authorize.xml", allowed, tt.options)
		require.Equal(t, http.StatusOK, w.Code, "%s", w.Body)
		assert.Equal(t, tt.limits, w.Header().Get("3scale-limit-remaining") != "", "3scale-options: %s", tt.options)
	}

	for _, tt := range []struct {
		options string
		body    bool
	}{
		{"no_body=1&no_body=0", true},
		{"no_body=0&no_body=1", false},
		{"no_body", true}, // nil: not asked
		{"no_body=", false},
		{"no_body=yes", false},
	} {
		w := call("/transactions/authorize.xml", allowed, tt.options)
		require.Equal(t, http.StatusOK, w.Code, "%s", w.Body)
		assert.Equal(t, tt.body, w.Body.Len() > 0, "3scale-options: %s", tt.options)
	}

	// flat_usage=1 then 0: off, so backend A's search counts in its hits
	w := call("/transactions/authrep.xml", allowed, "flat_usage=1&flat_usage=0")
	require.Equal(t, http.StatusOK, w.Code, "%s", w.Body)
	assert.EqualValues(t, 1, counters.Value(memApp, 21, "eternity", time.Time{}), "the search propagated to backend A's hits")
}
