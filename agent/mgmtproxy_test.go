package agent

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/3scale/3scale-porta-go-client/client"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/swagger"
)

// mgmtRecorder sits between the proxy and the real coordinator: it records what
// the upstream received and forwards it unchanged. Its fault modes stand in
// for upstream failures a healthy coordinator does not produce (a 500, a
// hang, an answer echoing the request).
type mgmtRecorder struct {
	mu    sync.Mutex
	reqs  []mgmtRecorded
	fail  atomic.Int32 // answer this status instead of forwarding
	delay atomic.Int64 // wait this long first
	echo  atomic.Bool  // answer with the request URI, in the body and a header
	extra http.Header  // added to every forwarded answer
	srv   *httptest.Server
}

type mgmtRecorded struct {
	Method, URI string
	Header      http.Header
	Body        []byte
}

func newMgmtRecorder(t *testing.T, upstream string) *mgmtRecorder {
	target, err := url.Parse(upstream)
	require.NoError(t, err)
	rec := &mgmtRecorder{extra: http.Header{}}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(target) },
		ModifyResponse: func(resp *http.Response) error {
			for k, vs := range rec.extra {
				resp.Header[k] = vs
			}
			return nil
		},
	}
	rec.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, mgmtRecorded{Method: r.Method, URI: r.RequestURI, Header: r.Header.Clone(), Body: body})
		rec.mu.Unlock()
		if d := rec.delay.Load(); d > 0 {
			select {
			case <-time.After(time.Duration(d)):
			case <-r.Context().Done():
				return
			}
		}
		if rec.echo.Load() {
			w.Header().Set("X-Echo", r.RequestURI)
			_, _ = io.WriteString(w, "you asked for "+r.RequestURI)
			return
		}
		if s := rec.fail.Load(); s != 0 {
			http.Error(w, "injected failure", int(s))
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(rec.srv.Close)
	return rec
}

func (rec *mgmtRecorder) requests() []mgmtRecorded {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return slices.Clone(rec.reqs)
}

func (rec *mgmtRecorder) last(t *testing.T) mgmtRecorded {
	t.Helper()
	reqs := rec.requests()
	require.NotEmpty(t, reqs, "the upstream received nothing")
	return reqs[len(reqs)-1]
}

// mgmtEnv is a management proxy served on loopback.
type mgmtEnv struct {
	url  string
	addr string
	logs *testenv.SyncBuffer
}

// mgmtSelection keeps services, backend APIs and accounts, and omits
// deleting services and everything under /admin/api/accounts/.
var mgmtSelection = MgmtConfig{
	Include: []string{"tag:Services", "tag:Backend APIs", "tag:Accounts"},
	Omit:    []string{"DELETE /admin/api/services/*", "* /admin/api/accounts/**"},
}

func mgmtSpecFile(t testing.TB) string {
	return filepath.Join(testenv.ThreescaleDir(t), "account_management_api.json")
}

func startMgmt(t testing.TB, upstream, token string, cfg MgmtConfig) *mgmtEnv {
	t.Helper()
	return startMgmtLogging(t, upstream, token, cfg, zerolog.DebugLevel)
}

// startMgmtLogging is startMgmt logging at level.
func startMgmtLogging(t testing.TB, upstream, token string, cfg MgmtConfig, level zerolog.Level) *mgmtEnv {
	t.Helper()
	if cfg.Spec == "" {
		cfg.Spec = mgmtSpecFile(t)
	}
	cfg.Token = token
	logs := &testenv.SyncBuffer{}
	p, err := newMgmtProxy(context.Background(), cfg, upstream, zerolog.New(logs).Level(level))
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	return &mgmtEnv{url: "http://" + ln.Addr().String(), addr: ln.Addr().String(), logs: logs}
}

func mgmtCall(t testing.TB, method, u, contentType, body string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, b
}

func mgmtJSONError(t *testing.T, b []byte) map[string]string {
	t.Helper()
	var m map[string]string
	require.NoError(t, json.Unmarshal(b, &m), "not a JSON error body: %s", b)
	require.NotEmpty(t, m["error"], "%s", b)
	return m
}

var mgmtServiceIDRE = regexp.MustCompile(`<service>\s*<id>(\d+)</id>`)

func TestMgmtProxyPassesAllowedCallsWithTheTokenInjected(t *testing.T) {
	co := testenv.StartCoordinator(t)
	rec := newMgmtRecorder(t, co.URL)
	env := startMgmt(t, rec.srv.URL, co.Token, mgmtSelection)

	// The app sends no credentials, or its own: they are replaced.
	resp, body := mgmtCall(t, "POST", env.url+"/admin/api/services.xml?access_token=app-own&provider_key=pk",
		"application/x-www-form-urlencoded", "name=Payments&system_name=payments&access_token=in-body",
		"Authorization", "Basic YXBwOnNlY3JldA==", "Cookie", "session=1")
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", body)
	m := mgmtServiceIDRE.FindSubmatch(body)
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

	resp, body = mgmtCall(t, "GET", env.url+"/admin/api/services.xml", "", "")
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	assert.Contains(t, string(body), "<system_name>payments</system_name>")
	resp, body = mgmtCall(t, "GET", env.url+"/admin/api/services/"+string(m[1])+".xml", "", "")
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
	resp, body = mgmtCall(t, "GET", env.url+"/openapi.json", "", "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	spec, err := swagger.Parse(body)
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

func TestMgmtProxyRefusesOmittedAndUnknownOperations(t *testing.T) {
	co := testenv.StartCoordinator(t)
	id := co.Create(t, "/admin/api/services.json", "name=Keep&system_name=keep")
	rec := newMgmtRecorder(t, co.URL)
	env := startMgmt(t, rec.srv.URL, co.Token, mgmtSelection)

	for _, tc := range []struct{ method, path, rule string }{
		{"DELETE", "/admin/api/services/" + id + ".xml", "DELETE /admin/api/services/*"},
		{"GET", "/admin/api/accounts/1.xml", "* /admin/api/accounts/**"},
		{"PUT", "/admin/api/accounts/1/approve.xml", "* /admin/api/accounts/**"},
	} {
		resp, body := mgmtCall(t, tc.method, env.url+tc.path, "", "")
		require.Equal(t, http.StatusForbidden, resp.StatusCode, "%s %s: %s", tc.method, tc.path, body)
		e := mgmtJSONError(t, body)
		assert.Equal(t, tc.rule, e["rule"], "%s %s", tc.method, tc.path)
		assert.Contains(t, e["error"], tc.rule)
	}
	// The spec lists .xml; the .json form of the same operation is the same
	// operation (3scale serves both) and is refused by the same rule.
	resp, body := mgmtCall(t, "DELETE", env.url+"/admin/api/services/"+id+".json", "", "")
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "%s", body)
	assert.Equal(t, "DELETE /admin/api/services/*", mgmtJSONError(t, body)["rule"])
	// Not included at all: 403 too, with the reason.
	resp, body = mgmtCall(t, "GET", env.url+"/admin/api/users.xml", "", "")
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "%s", body)
	mgmtJSONError(t, body)

	for _, tc := range []struct{ method, path string }{
		{"GET", "/admin/api/nothing.xml"},
		{"GET", "/admin/api/nothing.json"},
		{"POST", "/admin/api/services/" + id + ".xml"},
		{"GET", "/v1/composition"},
	} {
		resp, body := mgmtCall(t, tc.method, env.url+tc.path, "", "")
		require.Equal(t, http.StatusNotFound, resp.StatusCode, "%s %s: %s", tc.method, tc.path, body)
		assert.Contains(t, mgmtJSONError(t, body)["error"], "no operation")
	}
	assert.Empty(t, rec.requests(), "nothing refused reached the upstream")
	resp, body = mgmtCall(t, "GET", co.URL+"/admin/api/services/"+id+".json?access_token="+co.Token, "", "")
	assert.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
}

// mgmtRawCall sends req as is over TCP, where net/http's client would clean it.
func mgmtRawCall(t *testing.T, addr, req string) (int, string) {
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

func mgmtRawReq(method, target string, headers []string, body string) string {
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

func TestMgmtProxyRefusesBypassAttempts(t *testing.T) {
	co := testenv.StartCoordinator(t)
	id := co.Create(t, "/admin/api/services.json", "name=Target&system_name=target")
	rec := newMgmtRecorder(t, co.URL)
	env := startMgmt(t, rec.srv.URL, co.Token, mgmtSelection)

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
		status, body := mgmtRawCall(t, env.addr, mgmtRawReq(tc.method, tc.target, tc.headers, tc.body))
		assert.Equal(t, tc.want, status, "%s: %q → %s", tc.name, tc.target, body)
	}
	for _, r := range rec.requests() {
		t.Errorf("reached the upstream: %s %s", r.Method, r.URI)
	}
	resp, body := mgmtCall(t, "GET", co.URL+"/admin/api/services/"+id+".json?access_token="+co.Token, "", "")
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the service survived: %s", body)
}

const mgmtTestTransforms = `
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

func mgmtWriteFile(t *testing.T, name, content string) string {
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

func TestMgmtProxyAppliesTransforms(t *testing.T) {
	co := testenv.StartCoordinator(t)
	rec := newMgmtRecorder(t, co.URL)
	cfg := mgmtSelection
	cfg.Transform = mgmtWriteFile(t, "transforms.yaml", mgmtTestTransforms)
	env := startMgmt(t, rec.srv.URL, co.Token, cfg)

	resp, body := mgmtCall(t, "POST", env.url+"/admin/api/backend_apis.json?label=a&debug=1", "application/json",
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

	resp, body = mgmtCall(t, "GET", env.url+"/admin/api/backend_apis.json", "", "")
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
	_, direct := mgmtCall(t, "GET", co.URL+"/admin/api/backend_apis.json?access_token="+co.Token, "", "")
	assert.Contains(t, string(direct), "pay.internal:8080")
	assert.NotContains(t, string(body), "pay.internal")
}

func TestMgmtProxyRewritesPathPrefix(t *testing.T) {
	co := testenv.StartCoordinator(t)
	co.Create(t, "/admin/api/backend_apis.json", "name=Legacy&private_endpoint=http://legacy:80")
	rec := newMgmtRecorder(t, co.URL)
	spec := mgmtWriteFile(t, "legacy.yaml", `openapi: 3.0.3
info: {title: Legacy management, version: "1"}
paths:
  /legacy/backends.json:
    get:
      operationId: listBackends
      tags: [Backends]
      responses:
        "200": {description: the backends}
`)
	transforms := mgmtWriteFile(t, "t.yaml", `transforms:
  - match: op:listBackends
    path: {from: /legacy/backends.json, to: /admin/api/backend_apis.json}
`)
	env := startMgmt(t, rec.srv.URL, co.Token, MgmtConfig{Spec: spec, Transform: transforms})
	resp, body := mgmtCall(t, "GET", env.url+"/legacy/backends.json?page=1", "", "")
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	assert.Contains(t, string(body), `"name":"Legacy"`)
	assert.Equal(t, "/admin/api/backend_apis.json?page=1&access_token="+co.Token, rec.last(t).URI)
	// The rewritten path itself is not an operation of this spec.
	resp, _ = mgmtCall(t, "GET", env.url+"/admin/api/backend_apis.json", "", "")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestMgmtProxyServesStaleReadsAndFailsWritesWhenHomeIsKilled(t *testing.T) {
	co := testenv.StartCoordinator(t)
	id := co.Create(t, "/admin/api/services.json", "name=Cached&system_name=cached")
	env := startMgmt(t, co.URL, co.Token, mgmtSelection)

	resp, fresh := mgmtCall(t, "GET", env.url+"/admin/api/services.xml", "", "")
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", fresh)
	assert.Empty(t, resp.Header.Get("Warning"))
	require.Contains(t, string(fresh), "<system_name>cached</system_name>")

	co.Kill()

	resp, stale := mgmtCall(t, "GET", env.url+"/admin/api/services.xml", "", "")
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", stale)
	assert.Equal(t, `110 - "Response is Stale"`, resp.Header.Get("Warning"))
	assert.Regexp(t, `^\d+$`, resp.Header.Get("Age"))
	assert.Equal(t, fresh, stale)

	for _, tc := range []struct{ method, path, ct, body string }{
		{"POST", "/admin/api/services.xml", "application/x-www-form-urlencoded", "name=Lost&system_name=lost"},
		{"PUT", "/admin/api/services/" + id + ".xml", "application/x-www-form-urlencoded", "name=Renamed"},
		{"GET", "/admin/api/services/" + id + ".xml", "", ""}, // never read: nothing cached
	} {
		resp, body := mgmtCall(t, tc.method, env.url+tc.path, tc.ct, tc.body)
		// 503 when the connection is refused; 502 when a write went out on a
		// kept-alive connection the dead home had closed (not retried: it
		// is not idempotent).
		assert.Contains(t, []int{http.StatusBadGateway, http.StatusServiceUnavailable}, resp.StatusCode, "%s %s: %s", tc.method, tc.path, body)
		e := mgmtJSONError(t, body)
		assert.Regexp(t, "unreachable|failed", e["error"])
		assert.Contains(t, e["error"], "nothing was cached or queued")
		assert.NotContains(t, string(body), co.Token)
		assert.Empty(t, resp.Header.Get("Warning"))
	}
	assert.NotContains(t, env.logs.String(), co.Token)
	assert.Contains(t, env.logs.String(), "answered from cache")
}

func TestMgmtProxyUpstreamErrorsAndTimeout(t *testing.T) {
	co := testenv.StartCoordinator(t)
	rec := newMgmtRecorder(t, co.URL)
	cfg := mgmtSelection
	cfg.Timeout = time.Second // roomy for a loaded CI machine
	env := startMgmt(t, rec.srv.URL, co.Token, cfg)

	resp, fresh := mgmtCall(t, "GET", env.url+"/admin/api/services.xml", "", "")
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", fresh)

	rec.fail.Store(http.StatusInternalServerError)
	resp, body := mgmtCall(t, "GET", env.url+"/admin/api/services.xml", "", "")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, `110 - "Response is Stale"`, resp.Header.Get("Warning"))
	assert.Equal(t, fresh, body)
	resp, body = mgmtCall(t, "POST", env.url+"/admin/api/services.xml", "application/x-www-form-urlencoded", "name=x")
	assert.Equal(t, http.StatusInternalServerError, resp.StatusCode, "the upstream's own answer to a write: %s", body)

	rec.fail.Store(0)
	rec.delay.Store(int64(5 * time.Second)) // cut short when the proxy gives up
	resp, body = mgmtCall(t, "GET", env.url+"/admin/api/services.xml", "", "")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, `110 - "Response is Stale"`, resp.Header.Get("Warning"), "a timeout serves the cache too")
	assert.Equal(t, fresh, body)
	resp, body = mgmtCall(t, "POST", env.url+"/admin/api/services.xml", "application/x-www-form-urlencoded", "name=slow")
	assert.Equal(t, http.StatusGatewayTimeout, resp.StatusCode, "%s", body)
	assert.Contains(t, mgmtJSONError(t, body)["error"], "did not answer within 1s")

	rec.delay.Store(0)
	rec.echo.Store(true) // an upstream that echoes the request URL, token included
	resp, body = mgmtCall(t, "GET", env.url+"/admin/api/services.xml", "", "")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(body), "access_token="+mgmtRedacted)
	assert.NotContains(t, string(body), co.Token)
	assert.NotContains(t, resp.Header.Get("X-Echo"), co.Token)
	assert.NotContains(t, env.logs.String(), co.Token)
}

func TestMgmtProxyLimitsBodySize(t *testing.T) {
	co := testenv.StartCoordinator(t)
	rec := newMgmtRecorder(t, co.URL)
	env := startMgmt(t, rec.srv.URL, co.Token, mgmtSelection)
	form := "application/x-www-form-urlencoded"

	big := "name=" + strings.Repeat("a", maxMgmtBody)
	resp, body := mgmtCall(t, "POST", env.url+"/admin/api/services.xml", form, big)
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, "%s", body)
	mgmtJSONError(t, body)

	// Chunked, so no Content-Length tells in advance.
	var sb strings.Builder
	sb.WriteString("POST /admin/api/services.xml HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: " + form + "\r\nTransfer-Encoding: chunked\r\n\r\n")
	chunk := strings.Repeat("b", 64<<10)
	for range 17 {
		fmt.Fprintf(&sb, "%x\r\n%s\r\n", len(chunk), chunk)
	}
	sb.WriteString("0\r\n\r\n")
	status, _ := mgmtRawCall(t, env.addr, sb.String())
	assert.Equal(t, http.StatusRequestEntityTooLarge, status)
	assert.Empty(t, rec.requests())

	ok := "name=Fits&system_name=fits&padding=" + strings.Repeat("a", maxMgmtBody-100) // just under the limit
	resp, body = mgmtCall(t, "POST", env.url+"/admin/api/services.xml", form, ok)
	assert.Equal(t, http.StatusCreated, resp.StatusCode, "%s", body)
}

func TestMgmtProxyStripsHopByHopHeaders(t *testing.T) {
	co := testenv.StartCoordinator(t)
	rec := newMgmtRecorder(t, co.URL)
	rec.extra = http.Header{
		"Connection": {"X-Conn-Secret"}, "X-Conn-Secret": {"1"}, "Keep-Alive": {"timeout=5"},
		"Proxy-Authenticate": {"Basic"}, "Upgrade": {"h2c"}, "Set-Cookie": {"upstream=1"}, "X-Kept": {"yes"},
	}
	env := startMgmt(t, rec.srv.URL, co.Token, mgmtSelection)
	status, _ := mgmtRawCall(t, env.addr, mgmtRawReq("GET", "/admin/api/services.xml", []string{
		"Connection: X-Client-Hop", "X-Client-Hop: 1", "Keep-Alive: timeout=5", "TE: trailers",
		"Proxy-Authorization: Basic eDp5", "Proxy-Connection: keep-alive", "Upgrade: websocket", "X-App: kept",
	}, ""))
	require.Equal(t, http.StatusOK, status)
	got := rec.last(t)
	for _, h := range []string{"X-Client-Hop", "Keep-Alive", "Te", "Proxy-Authorization", "Proxy-Connection", "Upgrade"} {
		assert.Empty(t, got.Header.Values(h), h)
	}
	assert.Equal(t, "kept", got.Header.Get("X-App"))

	resp, _ := mgmtCall(t, "GET", env.url+"/admin/api/services.xml", "", "")
	for _, h := range []string{"X-Conn-Secret", "Keep-Alive", "Proxy-Authenticate", "Upgrade", "Set-Cookie"} {
		assert.Empty(t, resp.Header.Values(h), h)
	}
	assert.Equal(t, "yes", resp.Header.Get("X-Kept"))
}

func TestMgmtProxyStartupErrorsNameTheProblem(t *testing.T) {
	spec := mgmtSpecFile(t)
	log := zerolog.Nop()
	for _, tc := range []struct {
		name string
		cfg  MgmtConfig
		want []string
	}{
		{"bad include rule", MgmtConfig{Include: []string{"FETCH"}}, []string{"--mgmt-include", "FETCH"}},
		{"bad omit rule", MgmtConfig{Omit: []string{"op:"}}, []string{"--mgmt-omit", "op:"}},
		{"unreadable spec", MgmtConfig{Spec: "/nonexistent/spec.json"}, []string{"--mgmt-spec", "/nonexistent/spec.json"}},
		{"no token", MgmtConfig{Token: "-"}, []string{"--mgmt-token"}},
		{"unknown transform key", MgmtConfig{Transform: mgmtWriteFile(t, "t.yaml", "transforms:\n  - match: tag:Services\n    request:\n      heders:\n        set: {X: y}\n")},
			[]string{"--mgmt-transform", "heders", "line 4"}},
		{"unknown top-level key", MgmtConfig{Transform: mgmtWriteFile(t, "t.yaml", "transform:\n  - match: tag:Services\n")},
			[]string{"transform", "line 1"}},
		{"transform without match", MgmtConfig{Transform: mgmtWriteFile(t, "t.yaml", "transforms:\n  - request: {headers: {remove: [X]}}\n")},
			[]string{"match is required"}},
		{"transform setting the token", MgmtConfig{Transform: mgmtWriteFile(t, "t.yaml", "transforms:\n  - match: tag:Services\n    request: {query: {set: {access_token: x}}}\n")},
			[]string{"access_token"}},
		{"transform with a bad prefix", MgmtConfig{Transform: mgmtWriteFile(t, "t.yaml", "transforms:\n  - match: tag:Services\n    path: {from: /a/../b, to: /c}\n")},
			[]string{"path.from"}},
		{"upstream with credentials", MgmtConfig{Upstream: "http://u:p@127.0.0.1:1"}, []string{"--mgmt-upstream", "credentials"}},
		{"bad listen address", MgmtConfig{Listen: "127.0.0.1:99999"}, []string{"--mgmt-listen"}},
	} {
		cfg := tc.cfg
		if cfg.Spec == "" {
			cfg.Spec = spec
		}
		if cfg.Token == "" {
			cfg.Token = "t"
		} else if cfg.Token == "-" {
			cfg.Token = ""
		}
		_, err := newMgmtProxy(context.Background(), cfg, "http://127.0.0.1:1", log)
		require.Error(t, err, tc.name)
		for _, w := range tc.want {
			assert.Contains(t, err.Error(), w, tc.name)
		}
	}
}

func TestMgmtProxyThroughTheAgentBinary(t *testing.T) {
	co := testenv.StartCoordinator(t)
	addr := testenv.FreeAddr(t)
	t.Setenv("PORTOLAN_LOG_LEVEL", "debug")
	t.Setenv("PORTOLAN_MGMT_TOKEN", co.Token) // the env twin of --mgmt-token
	a := testenv.StartAgent(t, co, "--service", "app", "--mgmt-listen", addr, "--mgmt-spec", mgmtSpecFile(t),
		"--mgmt-include", "tag:Services", "--mgmt-omit", "DELETE /admin/api/services/*", "--", "sleep", "60")
	base := "http://" + addr
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/openapi.json")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 15*time.Second, 50*time.Millisecond, "%s", a.Output.String())

	resp, body := mgmtCall(t, "POST", base+"/admin/api/services.xml", "application/x-www-form-urlencoded", "name=Through&system_name=through")
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", body)
	id := mgmtServiceIDRE.FindSubmatch(body)
	require.NotNil(t, id)
	resp, body = mgmtCall(t, "GET", base+"/admin/api/services.xml", "", "")
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	assert.Contains(t, string(body), "<system_name>through</system_name>")
	resp, body = mgmtCall(t, "DELETE", base+"/admin/api/services/"+string(id[1])+".xml", "", "")
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "%s", body)
	assert.Contains(t, string(body), "DELETE /admin/api/services/*")

	co.Kill()
	resp, body = mgmtCall(t, "POST", base+"/admin/api/services.xml", "application/x-www-form-urlencoded", "name=Lost")
	assert.Contains(t, []int{http.StatusBadGateway, http.StatusServiceUnavailable}, resp.StatusCode, "%s", body)
	assert.NotContains(t, string(body), co.Token)
	time.Sleep(100 * time.Millisecond) // let the log lines land
	out := a.Output.String()
	assert.Contains(t, out, "management call", "debug access log on")
	assert.NotContains(t, out, co.Token)
}

func TestMgmtAgentBinaryExitsOnBadStartup(t *testing.T) {
	spec := mgmtSpecFile(t)
	bad := mgmtWriteFile(t, "t.yaml", "transforms:\n  - match: tag:Services\n    respons: {}\n")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"bad rule", []string{"--mgmt-spec", spec, "--mgmt-token", "t", "--mgmt-omit", "FETCH /x"}, "FETCH"},
		{"unreadable spec", []string{"--mgmt-spec", "/nonexistent.json", "--mgmt-token", "t"}, "/nonexistent.json"},
		{"unknown transform key", []string{"--mgmt-spec", spec, "--mgmt-token", "t", "--mgmt-transform", bad}, "respons"},
		{"mgmt flags without --mgmt-listen", []string{"--mgmt-spec", spec}, "--mgmt-listen"},
	} {
		args := []string{"agent", "--api", "off", "--mgmt-upstream", "http://127.0.0.1:1"}
		if tc.name != "mgmt flags without --mgmt-listen" {
			args = append(args, "--mgmt-listen", "127.0.0.1:0")
		}
		args = append(append(args, tc.args...), "--", "true")
		out, err := exec.Command(testenv.Binary(t), args...).CombinedOutput()
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee, "%s: %s", tc.name, out)
		assert.Equal(t, 2, ee.ExitCode(), tc.name)
		assert.Contains(t, string(out), tc.want, tc.name)
	}
}
