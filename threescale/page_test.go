package threescale_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A page far past the end is an empty page, as porta answers, even when
// (page-1)*per_page does not fit in an int64.
func TestHugePageIsEmptyPage(t *testing.T) {
	e := newTokenEnv(t, 0)
	status, body := e.call(t, bootstrapToken, http.MethodPost, "/admin/api/services.json", url.Values{"name": {"News"}})
	require.Equal(t, http.StatusCreated, status, body)
	list := func(page, perPage string) []any {
		status, body := e.call(t, bootstrapToken, http.MethodGet, "/admin/api/services.json",
			url.Values{"page": {page}, "per_page": {perPage}})
		require.Equal(t, http.StatusOK, status, "page %s per_page %s: %s", page, perPage, body)
		var out struct {
			Services []any `json:"services"`
		}
		require.NoError(t, json.Unmarshal([]byte(body), &out), body)
		return out.Services
	}
	assert.Len(t, list("1", "1"), 1)
	assert.Empty(t, list("2", "1"))
	for _, q := range [][2]string{
		{"9223372036854775807", "2"},
		{"4611686018427387905", "4"},
		{"9223372036854775807", "500"},
	} {
		assert.Empty(t, list(q[0], q[1]), "page %s per_page %s", q[0], q[1])
	}
}
