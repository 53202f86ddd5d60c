package mgmt

import (
	"bytes"
	"compress/flate"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// hideDescription hides a service's description from the app, and keeps it
// from setting a backend's.
const hideDescription = `
transforms:
  - match: "GET /admin/api/services/*"
    response:
      body:
        remove: [service.description]
  - match: "POST /admin/api/backend_apis.json"
    request:
      body:
        remove: [description]
`

func startHiding(t *testing.T) (*testenv.Coordinator, *recorder, *proxyEnv, string) {
	co := testenv.StartCoordinator(t)
	id := co.Create(t, "/admin/api/services.json", "name=Hidden&system_name=hidden&description=secret-note")
	rec := newRecorder(t, co.URL)
	cfg := Config{
		Include:   []string{"GET /admin/api/services/*", "POST /admin/api/backend_apis.json"},
		Transform: writeFile(t, "hide.yaml", hideDescription),
	}
	return co, rec, startProxy(t, rec.srv.URL, co.Token, cfg), id
}

// Response transforms read JSON. The .xml form of an operation (the one
// 3scale's spec lists for services) answered XML, and the field they hide
// passed in it; so did an answer in an encoding the proxy cannot read.
func TestResponseTransformsWithholdWhatTheyCannotRead(t *testing.T) {
	_, rec, env, id := startHiding(t)

	resp, body := call(t, http.MethodGet, env.url+"/admin/api/services/"+id+".json", "", "")
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	assert.Contains(t, string(body), `"name":"Hidden"`)
	assert.NotContains(t, string(body), "secret-note")

	n := len(rec.requests())
	resp, body = call(t, http.MethodGet, env.url+"/admin/api/services/"+id+".xml", "", "")
	assert.Equal(t, http.StatusNotAcceptable, resp.StatusCode, "%s", body)
	assert.NotContains(t, string(body), "secret-note")
	assert.Len(t, rec.requests(), n, "refused before the call")

	rec.deflate.Store(true)
	req, err := http.NewRequest(http.MethodGet, env.url+"/admin/api/services/"+id+".json", nil)
	require.NoError(t, err)
	req.Header.Set("Accept-Encoding", "deflate") // the app may ask; the proxy does not forward it
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if resp.Header.Get("Content-Encoding") == "deflate" {
		raw, _ = io.ReadAll(flate.NewReader(bytes.NewReader(raw)))
	}
	assert.Equal(t, http.StatusBadGateway, resp.StatusCode, "%s", raw)
	assert.NotContains(t, string(raw), "secret-note")
}

// Request transforms read JSON. A form, a JSON body with a comment (Ruby's
// parser skips them: flori/json ext/json/ext/parser/parser.rl, "ignore = ws
// | comment"; Go's refuses them), or JSON under text/x-json (a Rails alias
// of application/json) passed with the field they remove.
func TestRequestTransformsRefuseBodiesTheyCannotRead(t *testing.T) {
	_, rec, env, _ := startHiding(t)

	for _, tc := range []struct{ name, ct, body string }{
		{"form", "application/x-www-form-urlencoded", "name=Leaky&private_endpoint=http://b.internal:80&description=leak-note"},
		{"body without Content-Type", "", "name=Leaky&private_endpoint=http://b.internal:80&description=leak-note"},
		{"JSON with a comment", "application/json", `{"name":"Leaky", /* */ "private_endpoint":"http://b.internal:80","description":"leak-note"}`},
		{"text/x-json", "text/x-json", `{"name":"Leaky","private_endpoint":"http://b.internal:80","description":"leak-note"}`},
	} {
		resp, body := call(t, http.MethodPost, env.url+"/admin/api/backend_apis.json", tc.ct, tc.body)
		assert.Contains(t, []int{http.StatusBadRequest, http.StatusUnsupportedMediaType}, resp.StatusCode, "%s: %s", tc.name, body)
	}
	for _, r := range rec.requests() {
		t.Errorf("reached the upstream: %s %s %q", r.Method, r.URI, r.Body)
	}

	resp, body := call(t, http.MethodPost, env.url+"/admin/api/backend_apis.json", "application/json",
		`{"name":"Clean","private_endpoint":"http://b.internal:80","description":"leak-note"}`)
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", body)
	assert.NotContains(t, string(rec.last(t).Body), "leak-note")
	assert.NotContains(t, string(body), "leak-note")
}
