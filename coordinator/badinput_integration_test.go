package coordinator_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

type answer struct {
	status int
	body   string
}

func send(t *testing.T, co *testenv.Coordinator, method, path, contentType, body string) answer {
	t.Helper()
	req, err := http.NewRequest(method, co.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.SetBasicAuth("", co.Token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return answer{resp.StatusCode, string(b)}
}

func TestBadInputIsRefusedAndWritesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: starts processes")
	}
	co := testenv.StartCoordinator(t)
	created := send(t, co, "POST", "/admin/api/services.json", "application/x-www-form-urlencoded", "name=Good")
	require.Equal(t, http.StatusCreated, created.status, created.body)
	before := co.Revision(t)

	const form, js, xml = "application/x-www-form-urlencoded", "application/json", "application/xml"
	huge := "name=" + strings.Repeat("a", 1<<20+1)
	cases := []struct {
		name, method, path, ctype, body string
		status                          int
		mentions                        string
	}{
		{"malformed JSON", "POST", "/admin/api/services.json", js, `{"name": "x"`, 400, "JSON"},
		{"JSON not an object", "POST", "/admin/api/services.json", js, `["x"]`, 400, "JSON"},
		{"malformed XML", "POST", "/admin/api/services.xml", xml, `<service><name>x</service>`, 400, "XML"},
		{"malformed form", "POST", "/admin/api/services.json", form, `name=%zz`, 400, "form"},
		{"oversized body", "POST", "/admin/api/services.json", form, huge, 413, ""},
		{"missing name", "POST", "/admin/api/services.json", form, `description=no+name`, 422, `"name"`},
		{"missing name, XML", "POST", "/admin/api/services.xml", form, `description=no+name`, 422, "Name"},
		{"wrong-typed field", "POST", "/admin/api/services.json", form, `name=T&intentions_required=maybe`, 422, "intentions_required"},
		{"bad enum", "POST", "/admin/api/services.json", form, `name=T&backend_version=7`, 422, "backend_version"},
		{"duplicate system_name", "POST", "/admin/api/services.json", form, `name=Good`, 422, "system_name"},
		{"unknown id", "PUT", "/admin/api/services/999999.json", form, `name=x`, 404, "Not found"},
		{"unknown id, delete", "DELETE", "/admin/api/services/999999.json", "", "", 404, "Not found"},
		{"non-numeric id", "GET", "/admin/api/services/abc.json", "", "", 404, "Not found"},
		{"hostile path", "GET", "/admin/api/services/..%2f..%2fetc.json", "", "", 404, ""},
		{"unknown route", "GET", "/admin/api/nothing_here.json", "", "", 404, "Not found"},
		// porta reads page with to_i and falls back to page 1 (threescale's page()).
		{"page out of range is page 1", "GET", "/admin/api/services.json?page=-1", "", "", 200, `"system_name":"good"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := send(t, co, tc.method, tc.path, tc.ctype, tc.body)
			assert.Equal(t, tc.status, got.status, got.body)
			assert.Contains(t, got.body, tc.mentions)
			if tc.status == 422 && strings.HasSuffix(strings.Split(tc.path, "?")[0], ".json") {
				var e struct {
					Errors map[string][]string `json:"errors"`
				}
				require.NoError(t, json.Unmarshal([]byte(got.body), &e), got.body)
				assert.NotEmpty(t, e.Errors)
			}
		})
	}
	assert.Equal(t, before, co.Revision(t), "a refused request changed the composition")

	// per_page is capped at 500.
	got := send(t, co, "GET", "/admin/api/services.json?per_page=100000", "", "")
	assert.Equal(t, http.StatusOK, got.status, got.body)
}
