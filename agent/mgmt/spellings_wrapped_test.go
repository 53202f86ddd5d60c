package mgmt

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/portolan/portolan/internal/testenv"
)

// A name a query transform removes is refused wrapped too: Rack and Rails
// read backend_api[private_endpoint] (a form, a multipart part, the query)
// and {"backend_api":{"private_endpoint":…}} as the wrapped field the
// controller takes, which removing the flat private_endpoint leaves alone.
func TestQueryTransformsRefuseTheWrappedName(t *testing.T) {
	co := testenv.StartCoordinator(t)
	rec := newRecorder(t, co.URL)
	cfg := Config{
		Include: []string{"POST /admin/api/backend_apis.json"},
		Transform: writeFile(t, "q.yaml", `transforms:
  - match: "POST /admin/api/backend_apis.json"
    request:
      query:
        remove: [private_endpoint]
`),
	}
	env := startProxy(t, rec.srv.URL, co.Token, cfg)
	const form = "application/x-www-form-urlencoded"
	mp := "--b\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nMp\r\n" +
		"--b\r\nContent-Disposition: form-data; name=\"backend_api[private_endpoint]\"\r\n\r\nhttp://app-chosen.internal:80\r\n--b--\r\n"
	for _, tc := range []struct{ name, query, ct, body string }{
		{"JSON wrapper", "", "application/json", `{"backend_api":{"name":"J","private_endpoint":"http://app-chosen.internal:80"}}`},
		{"form wrapper", "", form, "name=F&backend_api[private_endpoint]=http://app-chosen.internal:80"},
		{"multipart wrapper", "", "multipart/form-data; boundary=b", mp},
		{"query wrapper", "?backend_api[private_endpoint]=http://app-chosen.internal:80", form, "name=Q"},
	} {
		resp, body := call(t, http.MethodPost, env.url+"/admin/api/backend_apis.json"+tc.query, tc.ct, tc.body)
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s: %s", tc.name, body)
	}
	assert.Empty(t, rec.requests(), "the wrapped field reached the upstream past query.remove")
}
