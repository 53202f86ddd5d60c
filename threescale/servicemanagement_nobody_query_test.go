package threescale

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The deprecated no_body query parameter is read as apisonator's params
// read it, as the header's option is: a bare "no_body" (no "=") is Rack's
// nil, so not asked, where "no_body=" is "", asked.
func TestNoBodyQueryParamWithoutValueIsNotAsked(t *testing.T) {
	sm, _ := newMemSM(t, "1")
	for _, tt := range []struct {
		query string
		body  bool
	}{
		{"no_body", true},
		{"no_body=", false},
		{"no_body=1&no_body", true},
		{"no_body&no_body=1", false},
		{"no_body=0", true},
	} {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodGet, "/transactions/authorize.xml?service_token="+memToken+
			"&service_id=10&user_key="+memUserKey+"&usage[search]=1&"+tt.query, nil)
		sm.ServeHTTP(w, r)
		require.Equal(t, http.StatusOK, w.Code, "%s", w.Body)
		assert.Equal(t, tt.body, w.Body.Len() > 0, "?%s", tt.query)
	}
}
