package mgmt

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// A request body transform that removes a field keeps the app from setting
// it; the upstream also reads the field from the query string and from the
// object a JSON body wraps its fields in (home's parseJSONBody, Rails'
// wrap_parameters), so neither may carry it past the transform.
func TestRequestBodyTransformsHoldInTheQueryAndTheWrapper(t *testing.T) {
	co, rec, env, _ := startHiding(t)

	for _, q := range []string{"description=via-query", "description[]=via-query", "[description]=via-query", "backend_api[description]=via-query"} {
		resp, body := call(t, http.MethodPost, env.url+"/admin/api/backend_apis.json?"+q,
			"application/json", `{"name":"ViaQuery","private_endpoint":"http://q.internal:80"}`)
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s: %s", q, body)
		assert.Contains(t, jsonError(t, body)["error"], "description", "the refusal names the parameter")
	}
	assert.Empty(t, rec.requests(), "refused before the call")

	resp, body := call(t, http.MethodPost, env.url+"/admin/api/backend_apis.json",
		"application/json", `{"backend_api":{"name":"ViaWrapper","private_endpoint":"http://w.internal:80","description":"via-wrapper"}}`)
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", body)
	assert.NotContains(t, string(rec.last(t).Body), "via-wrapper")

	_, direct := call(t, http.MethodGet, co.URL+"/admin/api/backend_apis.json?access_token="+co.Token, "", "")
	assert.Contains(t, string(direct), "ViaWrapper")
	assert.NotContains(t, string(direct), "via-query", "the removed field was set through the query string")
	assert.NotContains(t, string(direct), "via-wrapper", "the removed field was set inside the JSON wrapper")
}

// A body op on a wrapped field (backend_api.internal_note) holds for the
// flat spelling too, which Rails wraps and home reads as the same field.
func TestRequestBodyOpsApplyWrappedAndFlat(t *testing.T) {
	ops := []bodyOp{{path: []string{"backend_api", "internal_note"}}, {path: []string{"title"}, rename: "name"}}
	for in, want := range map[string]string{
		`{"backend_api":{"internal_note":"x","title":"t"}}`:     `{"backend_api":{"name":"t"}}`,
		`{"internal_note":"x","title":"t"}`:                     `{"name":"t"}`,
		`{"other":{"backend_api":{"internal_note":"x"}},"a":1}`: `{"a":1,"other":{"backend_api":{}}}`,
		`{"keep":"me"}`: `{"keep":"me"}`,
	} {
		out, err := transformRequestJSON([]byte(in), ops)
		require.NoError(t, err, in)
		assert.JSONEq(t, want, string(out), in)
	}
	out, _, err := stripCredentials("application/json", nil, "application/json", []byte(`{"backend_api":{"access_token":"app's","name":"n"}}`))
	require.NoError(t, err)
	assert.JSONEq(t, `{"backend_api":{"name":"n"}}`, string(out), "credentials are stripped inside the wrapper too")
}

// A query transform sets or removes a parameter under every spelling Rack
// reads as it; the same name in a form, multipart or JSON body is another
// such spelling, and the upstream (home's ReadParams, Rails' params) lets the
// body win. Such a body is refused, naming the parameter.
func TestQueryTransformsRefuseTheSameNameInTheBody(t *testing.T) {
	co := testenv.StartCoordinator(t)
	rec := newRecorder(t, co.URL)
	cfg := Config{
		Include: []string{"POST /admin/api/backend_apis.json"},
		Transform: writeFile(t, "q.yaml", `transforms:
  - match: "POST /admin/api/backend_apis.json"
    request:
      query:
        set: {description: fixed-by-proxy}
        remove: [private_endpoint]
`),
	}
	env := startProxy(t, rec.srv.URL, co.Token, cfg)
	mp := "--b\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nMp\r\n" +
		"--b\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\nset-by-app\r\n--b--\r\n"
	for _, tc := range []struct{ name, ct, body, param string }{
		{"form", "application/x-www-form-urlencoded", "name=FormWins&description=set-by-app", "description"},
		{"form, Rack spelling", "application/x-www-form-urlencoded", "name=FormWins&private_endpoint[]=http://app-chosen.internal:80", "private_endpoint"},
		{"no Content-Type", "", "name=FormWins&description=set-by-app", "description"},
		{"multipart", "multipart/form-data; boundary=b", mp, "description"},
		{"JSON", "application/json", `{"name":"J","description":"set-by-app"}`, "description"},
		{"JSON wrapper", "application/json", `{"backend_api":{"name":"J","private_endpoint":"http://app-chosen.internal:80"}}`, "private_endpoint"},
	} {
		resp, body := call(t, http.MethodPost, env.url+"/admin/api/backend_apis.json", tc.ct, tc.body)
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s: %s", tc.name, body)
		assert.Contains(t, jsonError(t, body)["error"], tc.param, "%s: the refusal names the parameter", tc.name)
	}
	resp, body := call(t, http.MethodPost, env.url+"/admin/api/backend_apis.json", "application/xml",
		"<backend_api><description>set-by-app</description></backend_api>")
	assert.Equal(t, http.StatusUnsupportedMediaType, resp.StatusCode, "a body the proxy cannot check: %s", body)
	assert.Empty(t, rec.requests(), "refused before the call")

	call(t, http.MethodPost, env.url+"/admin/api/backend_apis.json", "application/x-www-form-urlencoded", "name=Clean")
	assert.Contains(t, rec.last(t).URI, "description=fixed-by-proxy", "a body without those names passes")
	_, direct := call(t, http.MethodGet, co.URL+"/admin/api/backend_apis.json?access_token="+co.Token, "", "")
	assert.NotContains(t, string(direct), "set-by-app", "query.set was overridden by the body")
	assert.NotContains(t, string(direct), "app-chosen.internal", "query.remove was bypassed by the body")
}
