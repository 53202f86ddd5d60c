package mgmt

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/3scale/3scale-porta-go-client/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/swagger"
	"github.com/portolan/portolan/swagger/openapischema"
)

func TestProxyPassesAllowedCallsWithTheTokenInjected(t *testing.T) {
	co := testenv.StartCoordinator(t)
	rec := newRecorder(t, co.URL)
	env := startProxy(t, rec.srv.URL, co.Token, testSelection)

	// The app sends no credentials, or its own: they are replaced.
	resp, body := call(t, "POST", env.url+"/admin/api/services.xml?access_token=app-own&provider_key=pk",
		"application/x-www-form-urlencoded", "name=Payments&system_name=payments&access_token=in-body",
		"Authorization", "Basic YXBwOnNlY3JldA==", "Cookie", "session=1")
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", body)
	m := serviceIDRE.FindSubmatch(body)
	require.NotNil(t, m, "%s", body)
	got := rec.last(t)
	q, err := url.ParseQuery(strings.SplitN(got.URI, "?", 2)[1])
	require.NoError(t, err)
	assert.Equal(t, []string{co.Token}, q["access_token"], "exactly the proxy's token")
	assert.NotContains(t, q, "provider_key")
	assert.Empty(t, got.Header.Get("Authorization"))
	assert.Empty(t, got.Header.Get("Cookie"))
	form, err := url.ParseQuery(string(got.Body))
	require.NoError(t, err)
	assert.Equal(t, "Payments", form.Get("name"))
	assert.NotContains(t, form, "access_token")

	resp, body = call(t, "GET", env.url+"/admin/api/services.xml", "", "")
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	assert.Contains(t, string(body), "<system_name>payments</system_name>")
	resp, body = call(t, "GET", env.url+"/admin/api/services/"+string(m[1])+".xml", "", "")
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	assert.Contains(t, string(body), "<name>Payments</name>")
	assert.Equal(t, "/admin/api/services/"+string(m[1])+".xml?access_token="+co.Token, rec.last(t).URI)

	// The official 3scale client (which calls the .json forms) works through
	// the proxy with no token of its own.
	portal, err := client.NewAdminPortalFromStr(env.url)
	require.NoError(t, err)
	products, err := client.NewThreeScale(portal, "", &http.Client{Timeout: 30 * time.Second}).ListProducts()
	require.NoError(t, err)
	require.Len(t, products.Products, 1)
	assert.Equal(t, "payments", products.Products[0].Element.SystemName)

	// GET /openapi.json is the filtered spec: valid, and only what is kept.
	resp, body = call(t, "GET", env.url+"/openapi.json", "", "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	spec, err := swagger.Parse(body, openapischema.Check)
	require.NoError(t, err)
	ops := spec.Operations()
	require.NotEmpty(t, ops)
	for _, op := range ops {
		assert.False(t, strings.HasPrefix(op.Path, "/admin/api/accounts/"), op.String())
		assert.False(t, op.Method == "DELETE" && strings.HasPrefix(op.Path, "/admin/api/services/{id}"), op.String())
		assert.False(t, strings.HasPrefix(op.Path, "/admin/api/users"), op.String())
	}
	assert.NotContains(t, env.logs.String(), co.Token)
}

func TestProxyRefusesOmittedAndUnknownOperations(t *testing.T) {
	co := testenv.StartCoordinator(t)
	id := co.Create(t, "/admin/api/services.json", "name=Keep&system_name=keep")
	rec := newRecorder(t, co.URL)
	env := startProxy(t, rec.srv.URL, co.Token, testSelection)

	for _, tc := range []struct{ method, path, rule string }{
		{"DELETE", "/admin/api/services/" + id + ".xml", "DELETE /admin/api/services/*"},
		{"GET", "/admin/api/accounts/1.xml", "* /admin/api/accounts/**"},
		{"PUT", "/admin/api/accounts/1/approve.xml", "* /admin/api/accounts/**"},
	} {
		resp, body := call(t, tc.method, env.url+tc.path, "", "")
		require.Equal(t, http.StatusForbidden, resp.StatusCode, "%s %s: %s", tc.method, tc.path, body)
		e := jsonError(t, body)
		assert.Equal(t, tc.rule, e["rule"], "%s %s", tc.method, tc.path)
		assert.Contains(t, e["error"], tc.rule)
	}
	// The spec lists .xml; the .json form of the same operation is the same
	// operation (3scale serves both) and is refused by the same rule.
	resp, body := call(t, "DELETE", env.url+"/admin/api/services/"+id+".json", "", "")
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "%s", body)
	assert.Equal(t, "DELETE /admin/api/services/*", jsonError(t, body)["rule"])
	// Not included at all: 403 too, with the reason.
	resp, body = call(t, "GET", env.url+"/admin/api/users.xml", "", "")
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "%s", body)
	jsonError(t, body)

	for _, tc := range []struct{ method, path string }{
		{"GET", "/admin/api/nothing.xml"},
		{"GET", "/admin/api/nothing.json"},
		{"POST", "/admin/api/services/" + id + ".xml"},
		{"GET", "/v1/composition"},
	} {
		resp, body := call(t, tc.method, env.url+tc.path, "", "")
		require.Equal(t, http.StatusNotFound, resp.StatusCode, "%s %s: %s", tc.method, tc.path, body)
		assert.Contains(t, jsonError(t, body)["error"], "no operation")
	}
	assert.Empty(t, rec.requests(), "nothing refused reached the upstream")
	resp, body = call(t, "GET", co.URL+"/admin/api/services/"+id+".json?access_token="+co.Token, "", "")
	assert.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
}

// rawCall sends req as is over TCP, where net/http's client would clean it.
func rawCall(t *testing.T, addr, req string) (int, string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = io.WriteString(conn, req)
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err, "request %q", req)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func rawReq(method, target string, headers []string, body string) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n", method, target)
	for _, h := range headers {
		sb.WriteString(h + "\r\n")
	}
	if body != "" {
		fmt.Fprintf(&sb, "Content-Length: %d\r\n", len(body))
	}
	sb.WriteString("\r\n" + body)
	return sb.String()
}

func TestProxyRefusesBypassAttempts(t *testing.T) {
	co := testenv.StartCoordinator(t)
	id := co.Create(t, "/admin/api/services.json", "name=Target&system_name=target")
	rec := newRecorder(t, co.URL)
	env := startProxy(t, rec.srv.URL, co.Token, testSelection)

	form := "application/x-www-form-urlencoded"
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	_ = mw.WriteField("name", "x")
	_ = mw.WriteField("_method", "DELETE")
	_ = mw.Close()
	del := "/admin/api/services/" + id + ".xml" // omitted
	acct := "/admin/api/accounts/1.xml"         // omitted
	for _, tc := range []struct {
		name, method, target string
		headers              []string
		body                 string
		want                 int
	}{
		{"dot-dot", "GET", "/admin/api/services/../accounts/1.xml", nil, "", 400},
		{"dot-dot after an allowed path", "GET", "/admin/api/services.xml/../accounts/1.xml", nil, "", 400},
		{"encoded dot-dot", "GET", "/admin/api/services/%2e%2e/accounts/1.xml", nil, "", 400},
		{"encoded dot-dot upper case", "GET", "/admin/api/services/%2E%2E/accounts/1.xml", nil, "", 400},
		{"half-encoded dot-dot", "GET", "/admin/api/services/.%2e/accounts/1.xml", nil, "", 400},
		{"dot segment", "GET", "/admin/api/./accounts/1.xml", nil, "", 400},
		{"encoded dot segment", "GET", "/admin/api/%2e/accounts/1.xml", nil, "", 400},
		{"encoded slash", "GET", "/admin/api/accounts%2F1.xml", nil, "", 400},
		{"encoded slash lower case", "DELETE", "/admin/api/services%2f" + id + ".xml", nil, "", 400},
		{"encoded backslash", "GET", "/admin/api/accounts%5C1.xml", nil, "", 400},
		{"backslash", "GET", `/admin\api\accounts\1.xml`, nil, "", 400},
		{"leading double slash", "GET", "//admin/api/accounts/1.xml", nil, "", 400},
		{"double slash", "DELETE", "/admin/api/services//" + id + ".xml", nil, "", 400},
		{"path parameter", "GET", acct + ";jsessionid=1", nil, "", 400},
		{"semicolon traversal", "GET", "/admin/api/services/..;/accounts/1.xml", nil, "", 400},
		{"encoded semicolon", "GET", "/admin/api/services.xml%3B/../accounts/1.xml", nil, "", 400},
		{"encoded NUL", "GET", "/admin/api/services.xml%00/../accounts/1.xml", nil, "", 400},
		{"raw NUL", "GET", "/admin/api/accounts/1.xml\x00", nil, "", 400},
		{"encoded CR LF", "GET", "/admin/api/accounts/1.xml%0d%0aX-Injected:%201", nil, "", 400},
		{"encoded tab", "GET", "/admin/api/accounts/1.xml%09", nil, "", 400},
		{"trailing dot", "DELETE", del + ".", nil, "", 400},
		{"trailing slash", "DELETE", del + "/", nil, "", 400},
		{"double-encoded dot-dot", "GET", "/admin/api/services/%252e%252e/accounts/1.xml", nil, "", 400},
		{"double-encoded slash", "GET", "/admin/api/accounts%252F1.xml", nil, "", 400},
		{"overlong UTF-8 dot-dot", "GET", "/admin/api/services/%c0%ae%c0%ae/accounts/1.xml", nil, "", 400},
		{"overlong 3-byte dot", "GET", "/admin/api/services/%e0%80%ae%e0%80%ae/accounts/1.xml", nil, "", 400},
		{"full-width solidus", "GET", "/admin/api/accounts%ef%bc%8f1.xml", nil, "", 400},
		{"IIS %u escape", "GET", "/admin/api/services/%u002e%u002e/accounts/1.xml", nil, "", 400},
		{"malformed escape", "GET", "/admin/api/services.xml%", nil, "", 400},
		{"absolute-form target", "GET", "http://127.0.0.1" + acct, nil, "", 400},
		{"asterisk target", "OPTIONS", "*", nil, "", 400},
		{"fragment", "GET", acct + "#x", nil, "", 400},
		{"lower-case method", "delete", del, nil, "", 405},
		{"mixed-case method", "Delete", del, nil, "", 405},
		{"lower-case get of an allowed path", "get", "/admin/api/services.xml", nil, "", 405},
		{"unknown method", "PROPFIND", "/admin/api/services.xml", nil, "", 405},
		{"X-HTTP-Method-Override", "POST", "/admin/api/services.xml", []string{"X-HTTP-Method-Override: DELETE"}, "", 400},
		{"X-HTTP-Method", "POST", "/admin/api/services.xml", []string{"X-HTTP-Method: DELETE"}, "", 400},
		{"X-Method-Override", "POST", "/admin/api/services.xml", []string{"X-Method-Override: DELETE"}, "", 400},
		{"override header in lower case", "GET", "/admin/api/services.xml", []string{"x-http-method-override: DELETE"}, "", 400},
		{"_method query parameter", "POST", "/admin/api/services.xml?_method=DELETE", nil, "", 400},
		{"_method form field", "POST", "/admin/api/services.xml", []string{"Content-Type: " + form}, "name=x&_method=DELETE", 400},
		{"_method in a body without Content-Type", "POST", "/admin/api/services.xml", nil, "name=x&_method=DELETE", 400},
		{"_method multipart field", "POST", "/admin/api/services.xml", []string{"Content-Type: " + mw.FormDataContentType()}, mp.String(), 400},
		{"upper-case path", "GET", "/ADMIN/API/ACCOUNTS/1.XML", nil, "", 404},
		{"one upper-case letter", "GET", "/admin/api/Accounts/1.xml", nil, "", 404},
		{"no extension", "DELETE", "/admin/api/services/" + id, nil, "", 404},
		{"path too long", "GET", "/admin/api/" + strings.Repeat("a", 3000), nil, "", 414},
		{"omitted, plainly", "DELETE", del, nil, "", 403},
		{"omitted, plainly (account)", "GET", acct, nil, "", 403},
	} {
		status, body := rawCall(t, env.addr, rawReq(tc.method, tc.target, tc.headers, tc.body))
		assert.Equal(t, tc.want, status, "%s: %q → %s", tc.name, tc.target, body)
	}
	for _, r := range rec.requests() {
		t.Errorf("reached the upstream: %s %s", r.Method, r.URI)
	}
	resp, body := call(t, "GET", co.URL+"/admin/api/services/"+id+".json?access_token="+co.Token, "", "")
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the service survived: %s", body)
}

const testTransforms = `
transforms:
  - match: "POST /admin/api/backend_apis.json"
    request:
      headers:
        set: {X-Team: payments}
        remove: [X-Debug]
      query:
        rename: {label: origin}
        remove: [debug]
        set: {source: portolan}
      body:
        remove: [internal_note]
        rename: {title: name}
  - match: "* /admin/api/backend_apis*"
    response:
      body:
        remove: [backend_api.private_endpoint, backend_apis.backend_api.private_endpoint]
        rename: {backend_api.system_name: slug, backend_apis.backend_api.system_name: slug}
`

func writeFile(t *testing.T, name, content string) string {
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

func TestProxyAppliesTransforms(t *testing.T) {
	co := testenv.StartCoordinator(t)
	rec := newRecorder(t, co.URL)
	cfg := testSelection
	cfg.Transform = writeFile(t, "transforms.yaml", testTransforms)
	env := startProxy(t, rec.srv.URL, co.Token, cfg)

	resp, body := call(t, "POST", env.url+"/admin/api/backend_apis.json?label=a&debug=1", "application/json",
		`{"title":"Payments","private_endpoint":"http://pay.internal:8080","internal_note":"do not send"}`,
		"X-Debug", "1", "X-Other", "kept")
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", body)

	// What the coordinator received.
	got := rec.last(t)
	assert.Equal(t, "payments", got.Header.Get("X-Team"))
	assert.Empty(t, got.Header.Get("X-Debug"))
	assert.Equal(t, "kept", got.Header.Get("X-Other"))
	path, rawQuery, _ := strings.Cut(got.URI, "?")
	assert.Equal(t, "/admin/api/backend_apis.json", path)
	q, err := url.ParseQuery(rawQuery)
	require.NoError(t, err)
	assert.Equal(t, url.Values{"origin": {"a"}, "source": {"portolan"}, "access_token": {co.Token}}, q)
	var sent map[string]any
	require.NoError(t, json.Unmarshal(got.Body, &sent))
	assert.Equal(t, map[string]any{"name": "Payments", "private_endpoint": "http://pay.internal:8080"}, sent)

	// What the app got.
	var created map[string]map[string]any
	require.NoError(t, json.Unmarshal(body, &created), "%s", body)
	b := created["backend_api"]
	assert.Equal(t, "Payments", b["name"])
	assert.NotContains(t, b, "private_endpoint")
	assert.NotContains(t, b, "system_name")
	assert.NotEmpty(t, b["slug"])

	resp, body = call(t, "GET", env.url+"/admin/api/backend_apis.json", "", "")
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	var list struct {
		BackendAPIs []map[string]map[string]any `json:"backend_apis"`
	}
	require.NoError(t, json.Unmarshal(body, &list), "%s", body)
	require.NotEmpty(t, list.BackendAPIs)
	for _, e := range list.BackendAPIs {
		assert.NotContains(t, e["backend_api"], "private_endpoint", "removed in every array element")
		assert.NotEmpty(t, e["backend_api"]["slug"])
	}
	// The coordinator itself still has the field: the proxy removed it.
	_, direct := call(t, "GET", co.URL+"/admin/api/backend_apis.json?access_token="+co.Token, "", "")
	assert.Contains(t, string(direct), "pay.internal:8080")
	assert.NotContains(t, string(body), "pay.internal")
}

func TestProxyRewritesPathPrefix(t *testing.T) {
	co := testenv.StartCoordinator(t)
	co.Create(t, "/admin/api/backend_apis.json", "name=Legacy&private_endpoint=http://legacy:80")
	rec := newRecorder(t, co.URL)
	spec := writeFile(t, "legacy.yaml", `openapi: 3.0.3
info: {title: Legacy management, version: "1"}
paths:
  /legacy/backends.json:
    get:
      operationId: listBackends
      tags: [Backends]
      responses:
        "200": {description: the backends}
`)
	transforms := writeFile(t, "t.yaml", `transforms:
  - match: op:listBackends
    path: {from: /legacy/backends.json, to: /admin/api/backend_apis.json}
`)
	env := startProxy(t, rec.srv.URL, co.Token, Config{Spec: spec, Transform: transforms})
	resp, body := call(t, "GET", env.url+"/legacy/backends.json?page=1", "", "")
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	assert.Contains(t, string(body), `"name":"Legacy"`)
	assert.Equal(t, "/admin/api/backend_apis.json?page=1&access_token="+co.Token, rec.last(t).URI)
	// The rewritten path itself is not an operation of this spec.
	resp, _ = call(t, "GET", env.url+"/admin/api/backend_apis.json", "", "")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}

// A spec URL may carry a credential (3scale serves ActiveDocs specs under
// /admin/api/active_docs/{id}.json?access_token=…): the start-up log names
// it without its user info and query.
func TestReadyLogRedactsTheSpecURL(t *testing.T) {
	specSrv := httptest.NewServer(http.FileServer(http.Dir(testenv.ThreescaleDir(t))))
	t.Cleanup(specSrv.Close)
	u := specSrv.URL + "/account_management_api.json?access_token=spec-secret-123"
	u = strings.Replace(u, "http://", "http://ops:pw-secret-456@", 1)
	upstream := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(upstream.Close)
	env := startProxy(t, upstream.URL, "tok-0123456789abcdef", Config{Spec: u})
	logs := env.logs.String()
	assert.Contains(t, logs, strings.TrimPrefix(specSrv.URL, "http://")+"/account_management_api.json", "the spec is named")
	assert.NotContains(t, logs, "spec-secret-123", "the spec URL's query credential is logged")
	assert.NotContains(t, logs, "pw-secret-456", "the spec URL's password is logged")
}
