package mgmt

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/portolan/portolan/internal/testenv"
)

// checkQuery refuses backend_api[description] as "description inside the
// wrapper", and checkBody refuses the wrapped field in a JSON body; a form
// or multipart body spelling the same wrapped field passes, and Rack/Rails
// read it as params[:backend_api][:private_endpoint], the controller's own.
func TestQueryTransformsRefuseTheWrappedNameInTheBody(t *testing.T) {
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
	mp := "--b\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nMp\r\n" +
		"--b\r\nContent-Disposition: form-data; name=\"backend_api[private_endpoint]\"\r\n\r\nhttp://app-chosen.internal:80\r\n--b--\r\n"
	for _, tc := range []struct{ name, ct, body string }{
		{"JSON wrapper", "application/json", `{"backend_api":{"name":"J","private_endpoint":"http://app-chosen.internal:80"}}`},
		{"form wrapper", "application/x-www-form-urlencoded", "name=F&backend_api[private_endpoint]=http://app-chosen.internal:80"},
		{"multipart wrapper", "multipart/form-data; boundary=b", mp},
	} {
		resp, body := call(t, http.MethodPost, env.url+"/admin/api/backend_apis.json", tc.ct, tc.body)
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s: %s", tc.name, body)
	}
	assert.Empty(t, rec.requests(), "the wrapped field reached the upstream past query.remove")
}

// The same wrapped spelling in the query string: query.remove [private_endpoint]
// leaves backend_api[private_endpoint] (rackKey is backend_api), which Rails
// reads as params[:backend_api][:private_endpoint].
func TestQueryTransformsRefuseTheWrappedNameInTheQuery(t *testing.T) {
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
	resp, body := call(t, http.MethodPost, env.url+"/admin/api/backend_apis.json?backend_api[private_endpoint]=http://app-chosen.internal:80",
		"application/x-www-form-urlencoded", "name=Q")
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s", body)
	assert.Empty(t, rec.requests(), "query.remove let the wrapped spelling through")
}
