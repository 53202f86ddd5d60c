package mgmt

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// twinSpec lists one 3scale handler as several operations, as specs written
// by hand do: a service read with and without its format suffix, and its
// update under PUT and PATCH. Porta routes them to one action: its admin
// API is `namespace :api, defaults: {format: 'xml'}` of `resources`, whose
// member routes are "/services/:id(.:format)" for GET, PUT and PATCH alike
// (3scale/porta config/routes.rb); home serves the suffix-less path too,
// in the format its Accept names (threescale.FormatOf).
const twinSpec = `openapi: 3.0.3
info: {title: Twins, version: "1"}
paths:
  /admin/api/services/{id}.json:
    parameters: [{name: id, in: path, required: true, schema: {type: string}}]
    get:
      operationId: readServiceJSON
      responses: {"200": {description: a service}}
    put:
      operationId: updateService
      responses: {"200": {description: a service}}
    patch:
      operationId: patchService
      responses: {"200": {description: a service}}
  /admin/api/services/{id}:
    parameters: [{name: id, in: path, required: true, schema: {type: string}}]
    get:
      operationId: readService
      responses: {"200": {description: a service}}
`

// A transform or an omission bound to one spelling of an operation holds
// for every spelling the upstream routes to the same handler: the
// suffix-less path and the .json one, PUT and PATCH.
func TestTransformsAndOmissionsHoldForEveryTwinOfAnOperation(t *testing.T) {
	co := testenv.StartCoordinator(t)
	id := co.Create(t, "/admin/api/services.json", "name=Twin&system_name=twin&description=secret-note")
	spec := writeFile(t, "twins.yaml", twinSpec)

	t.Run("response transform", func(t *testing.T) {
		env := startProxy(t, co.URL, co.Token, Config{Spec: spec, Transform: writeFile(t, "t.yaml", `
transforms:
  - match: "op:readServiceJSON"
    response:
      body:
        remove: [service.description]
`)})
		resp, body := call(t, http.MethodGet, env.url+"/admin/api/services/"+id+".json", "", "")
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
		assert.NotContains(t, string(body), "secret-note")

		resp, body = call(t, http.MethodGet, env.url+"/admin/api/services/"+id, "", "", "Accept", "application/json")
		assert.NotContains(t, string(body), "secret-note", "the suffix-less twin answered %d with the hidden field", resp.StatusCode)
	})

	t.Run("omission", func(t *testing.T) {
		env := startProxy(t, co.URL, co.Token, Config{Spec: spec, Omit: []string{"op:readServiceJSON"}})
		for _, path := range []string{"/admin/api/services/" + id + ".json", "/admin/api/services/" + id, "/admin/api/services/" + id + ".xml"} {
			resp, body := call(t, http.MethodGet, env.url+path, "", "", "Accept", "application/json")
			assert.Equal(t, http.StatusForbidden, resp.StatusCode, "%s: %s", path, body)
			assert.NotContains(t, string(body), "secret-note", path)
		}
	})

	t.Run("request transform under the other method", func(t *testing.T) {
		env := startProxy(t, co.URL, co.Token, Config{Spec: spec, Transform: writeFile(t, "t.yaml", `
transforms:
  - match: "PUT /admin/api/services/*"
    request:
      body:
        remove: [description]
`)})
		for _, method := range []string{http.MethodPut, http.MethodPatch} {
			resp, body := call(t, method, env.url+"/admin/api/services/"+id+".json", "application/json", `{"description":"set-by-`+method+`"}`)
			require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", method, body)
		}
		_, direct := call(t, http.MethodGet, co.URL+"/admin/api/services/"+id+".json?access_token="+co.Token, "", "")
		assert.Contains(t, string(direct), "secret-note", "the removed field was set through PUT or PATCH: %s", direct)
	})

	// RFC 9111 section 4.4: a write the upstream accepted invalidates the
	// stored reads of its target, under every spelling of it.
	t.Run("cache", func(t *testing.T) {
		renamed := co.Create(t, "/admin/api/services.json", "name=Before&system_name=before")
		rec := newRecorder(t, co.URL)
		env := startProxy(t, rec.srv.URL, co.Token, Config{Spec: spec})
		read := env.url + "/admin/api/services/" + renamed
		resp, body := call(t, http.MethodGet, read, "", "", "Accept", "application/json")
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
		resp, body = call(t, http.MethodPut, read+".json", "application/x-www-form-urlencoded", "name=After")
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)

		rec.fail.Store(http.StatusInternalServerError)
		resp, body = call(t, http.MethodGet, read, "", "", "Accept", "application/json")
		assert.NotContains(t, string(body), "Before", "the read from before the write was served stale (%d, Warning %q)", resp.StatusCode, resp.Header.Get("Warning"))
	})
}
