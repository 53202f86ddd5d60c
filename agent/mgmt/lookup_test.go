package mgmt

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

// 3scale serves every operation as .json and .xml, and the proxy takes the
// other form of a listed path as the same operation. A spec listing a
// template in one form ({id}.json, kept) and a literal beside it in the
// other (find.xml, omitted) let find.json through as "{id} = find", which
// the upstream routes to find (its literal route wins, as the route table's
// own does).
func TestTheOtherFormatOfAnOmittedLiteralIsRefused(t *testing.T) {
	spec := writeFile(t, "mixed.yaml", `openapi: 3.0.3
info: {title: Mixed formats, version: "1"}
paths:
  /admin/api/accounts/{id}.json:
    get:
      operationId: readAccount
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses: {"200": {description: an account}}
  /admin/api/accounts/find.xml:
    get:
      operationId: findAccount
      responses: {"200": {description: an account}}
`)
	env := startProxy(t, noUpstream, "admin-token", Config{Spec: spec, Omit: []string{"op:findAccount"}})
	for _, path := range []string{"/admin/api/accounts/find.xml", "/admin/api/accounts/find.json"} {
		resp, body := call(t, http.MethodGet, env.url+path, "", "")
		assert.Equal(t, http.StatusForbidden, resp.StatusCode, "%s: %s", path, body)
	}
	// A plain id still reaches the kept template (and the unreachable
	// upstream: 503).
	resp, body := call(t, http.MethodGet, env.url+"/admin/api/accounts/7.json", "", "")
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "%s", body)
}
