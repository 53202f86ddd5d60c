package mgmt

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/swagger/openapischema"
)

func TestProxyServesStaleReadsAndFailsWritesWhenHomeIsKilled(t *testing.T) {
	co := testenv.StartCoordinator(t)
	id := co.Create(t, "/admin/api/services.json", "name=Cached&system_name=cached")
	env := startProxy(t, co.URL, co.Token, testSelection)

	resp, fresh := call(t, "GET", env.url+"/admin/api/services.xml", "", "")
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", fresh)
	assert.Empty(t, resp.Header.Get("Warning"))
	require.Contains(t, string(fresh), "<system_name>cached</system_name>")

	co.Kill()

	resp, stale := call(t, "GET", env.url+"/admin/api/services.xml", "", "")
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", stale)
	assert.Equal(t, `110 - "Response is Stale"`, resp.Header.Get("Warning"))
	assert.Regexp(t, `^\d+$`, resp.Header.Get("Age"))
	assert.Equal(t, fresh, stale)

	for _, tc := range []struct{ method, path, ct, body string }{
		{"POST", "/admin/api/services.xml", "application/x-www-form-urlencoded", "name=Lost&system_name=lost"},
		{"PUT", "/admin/api/services/" + id + ".xml", "application/x-www-form-urlencoded", "name=Renamed"},
		{"GET", "/admin/api/services/" + id + ".xml", "", ""}, // never read: nothing cached
	} {
		resp, body := call(t, tc.method, env.url+tc.path, tc.ct, tc.body)
		// 503 when the connection is refused; 502 when a write went out on a
		// kept-alive connection the dead home had closed (not retried: it
		// is not idempotent).
		assert.Contains(t, []int{http.StatusBadGateway, http.StatusServiceUnavailable}, resp.StatusCode, "%s %s: %s", tc.method, tc.path, body)
		e := jsonError(t, body)
		assert.Regexp(t, "unreachable|failed", e["error"])
		assert.Contains(t, e["error"], "nothing was cached or queued")
		assert.NotContains(t, string(body), co.Token)
		assert.Empty(t, resp.Header.Get("Warning"))
	}
	assert.NotContains(t, env.logs.String(), co.Token)
	assert.Contains(t, env.logs.String(), "answered from cache")
}

// Home and Rack read a GET's body as parameters: a stale answer to one
// lookup must not be served for another that differs only in its body.
func TestStaleAnswersAreKeyedByTheBodyOfAGet(t *testing.T) {
	co := testenv.StartCoordinator(t)
	co.Create(t, "/admin/api/signup.json", "org_name=AliceOrg&username=alice&email=alice@example.com")
	co.Create(t, "/admin/api/signup.json", "org_name=BobOrg&username=bob&email=bob@example.com")
	rec := newRecorder(t, co.URL)
	env := startProxy(t, rec.srv.URL, co.Token, Config{Include: []string{"GET /admin/api/accounts/find.xml"}})
	form := "application/x-www-form-urlencoded"
	for _, who := range []string{"alice", "bob"} {
		resp, body := call(t, http.MethodGet, env.url+"/admin/api/accounts/find.json", form, "username="+who)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	}

	rec.fail.Store(http.StatusServiceUnavailable) // home is down
	resp, body := call(t, http.MethodGet, env.url+"/admin/api/accounts/find.json", form, "username=alice")
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	assert.Equal(t, staleWarning, resp.Header.Get("Warning"))
	assert.Contains(t, string(body), "AliceOrg")
	assert.NotContains(t, string(body), "BobOrg", "alice's lookup was answered with bob's account")
	resp, body = call(t, http.MethodGet, env.url+"/admin/api/accounts/find.json", "application/json", `{"username":"alice"}`)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "another Content-Type is another lookup: %s", body)
}

func TestProxyUpstreamErrorsAndTimeout(t *testing.T) {
	co := testenv.StartCoordinator(t)
	rec := newRecorder(t, co.URL)
	cfg := testSelection
	cfg.Timeout = time.Second // roomy for a loaded CI machine
	env := startProxy(t, rec.srv.URL, co.Token, cfg)

	resp, fresh := call(t, "GET", env.url+"/admin/api/services.xml", "", "")
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", fresh)

	rec.fail.Store(http.StatusInternalServerError)
	resp, body := call(t, "GET", env.url+"/admin/api/services.xml", "", "")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, `110 - "Response is Stale"`, resp.Header.Get("Warning"))
	assert.Equal(t, fresh, body)
	resp, body = call(t, "POST", env.url+"/admin/api/services.xml", "application/x-www-form-urlencoded", "name=x")
	assert.Equal(t, http.StatusInternalServerError, resp.StatusCode, "the upstream's own answer to a write: %s", body)

	rec.fail.Store(0)
	rec.delay.Store(int64(5 * time.Second)) // cut short when the proxy gives up
	resp, body = call(t, "GET", env.url+"/admin/api/services.xml", "", "")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, `110 - "Response is Stale"`, resp.Header.Get("Warning"), "a timeout serves the cache too")
	assert.Equal(t, fresh, body)
	resp, body = call(t, "POST", env.url+"/admin/api/services.xml", "application/x-www-form-urlencoded", "name=slow")
	assert.Equal(t, http.StatusGatewayTimeout, resp.StatusCode, "%s", body)
	assert.Contains(t, jsonError(t, body)["error"], "did not answer within 1s")

	rec.delay.Store(0)
	rec.echo.Store(true) // an upstream that echoes the request URL, token included
	resp, body = call(t, "GET", env.url+"/admin/api/services.xml", "", "")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(body), "access_token="+redacted)
	assert.NotContains(t, string(body), co.Token)
	assert.NotContains(t, resp.Header.Get("X-Echo"), co.Token)
	assert.NotContains(t, env.logs.String(), co.Token)
}

func TestProxyLimitsBodySize(t *testing.T) {
	co := testenv.StartCoordinator(t)
	rec := newRecorder(t, co.URL)
	env := startProxy(t, rec.srv.URL, co.Token, testSelection)
	form := "application/x-www-form-urlencoded"

	big := "name=" + strings.Repeat("a", maxBody)
	resp, body := call(t, "POST", env.url+"/admin/api/services.xml", form, big)
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, "%s", body)
	jsonError(t, body)

	// Chunked, so no Content-Length tells in advance.
	var sb strings.Builder
	sb.WriteString("POST /admin/api/services.xml HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: " + form + "\r\nTransfer-Encoding: chunked\r\n\r\n")
	chunk := strings.Repeat("b", 64<<10)
	for range 17 {
		fmt.Fprintf(&sb, "%x\r\n%s\r\n", len(chunk), chunk)
	}
	sb.WriteString("0\r\n\r\n")
	status, _ := rawCall(t, env.addr, sb.String())
	assert.Equal(t, http.StatusRequestEntityTooLarge, status)
	assert.Empty(t, rec.requests())

	ok := "name=Fits&system_name=fits&padding=" + strings.Repeat("a", maxBody-100) // just under the limit
	resp, body = call(t, "POST", env.url+"/admin/api/services.xml", form, ok)
	assert.Equal(t, http.StatusCreated, resp.StatusCode, "%s", body)
}

func TestProxyStripsHopByHopHeaders(t *testing.T) {
	co := testenv.StartCoordinator(t)
	rec := newRecorder(t, co.URL)
	rec.extra = http.Header{
		"Connection": {"X-Conn-Secret"}, "X-Conn-Secret": {"1"}, "Keep-Alive": {"timeout=5"},
		"Proxy-Authenticate": {"Basic"}, "Upgrade": {"h2c"}, "Set-Cookie": {"upstream=1"}, "X-Kept": {"yes"},
	}
	env := startProxy(t, rec.srv.URL, co.Token, testSelection)
	status, _ := rawCall(t, env.addr, rawReq("GET", "/admin/api/services.xml", []string{
		"Connection: X-Client-Hop", "X-Client-Hop: 1", "Keep-Alive: timeout=5", "TE: trailers",
		"Proxy-Authorization: Basic eDp5", "Proxy-Connection: keep-alive", "Upgrade: websocket", "X-App: kept",
	}, ""))
	require.Equal(t, http.StatusOK, status)
	got := rec.last(t)
	for _, h := range []string{"X-Client-Hop", "Keep-Alive", "Te", "Proxy-Authorization", "Proxy-Connection", "Upgrade"} {
		assert.Empty(t, got.Header.Values(h), h)
	}
	assert.Equal(t, "kept", got.Header.Get("X-App"))

	resp, _ := call(t, "GET", env.url+"/admin/api/services.xml", "", "")
	for _, h := range []string{"X-Conn-Secret", "Keep-Alive", "Proxy-Authenticate", "Upgrade", "Set-Cookie"} {
		assert.Empty(t, resp.Header.Values(h), h)
	}
	assert.Equal(t, "yes", resp.Header.Get("X-Kept"))
}

func TestProxyStartupErrorsNameTheProblem(t *testing.T) {
	spec := specFile(t)
	log := zerolog.Nop()
	for _, tc := range []struct {
		name string
		cfg  Config
		want []string
	}{
		{"bad include rule", Config{Include: []string{"FETCH"}}, []string{"--mgmt-include", "FETCH"}},
		{"bad omit rule", Config{Omit: []string{"op:"}}, []string{"--mgmt-omit", "op:"}},
		{"unreadable spec", Config{Spec: "/nonexistent/spec.json"}, []string{"--mgmt-spec", "/nonexistent/spec.json"}},
		{"no token", Config{Token: "-"}, []string{"--mgmt-token"}},
		{"unknown transform key", Config{Transform: writeFile(t, "t.yaml", "transforms:\n  - match: tag:Services\n    request:\n      heders:\n        set: {X: y}\n")},
			[]string{"--mgmt-transform", "heders", "line 4"}},
		{"unknown top-level key", Config{Transform: writeFile(t, "t.yaml", "transform:\n  - match: tag:Services\n")},
			[]string{"transform", "line 1"}},
		{"transform without match", Config{Transform: writeFile(t, "t.yaml", "transforms:\n  - request: {headers: {remove: [X]}}\n")},
			[]string{"match is required"}},
		{"transform setting the token", Config{Transform: writeFile(t, "t.yaml", "transforms:\n  - match: tag:Services\n    request: {query: {set: {access_token: x}}}\n")},
			[]string{"access_token"}},
		{"transform with a bad prefix", Config{Transform: writeFile(t, "t.yaml", "transforms:\n  - match: tag:Services\n    path: {from: /a/../b, to: /c}\n")},
			[]string{"path.from"}},
		{"upstream with credentials", Config{Upstream: "http://u:p@127.0.0.1:1"}, []string{"--mgmt-upstream", "credentials"}},
		{"plain http upstream off loopback", Config{Upstream: "http://admin.example.com"}, []string{"--mgmt-upstream", "in clear", "https://"}},
		{"plain http upstream at a LAN address", Config{Upstream: "http://10.0.0.5:3000/"}, []string{"--mgmt-upstream", "in clear"}},
		{"bad listen address", Config{Listen: "127.0.0.1:99999"}, []string{"--mgmt-listen"}},
		{"spec failing the OpenAPI schema", Config{Spec: writeFile(t, "s.yaml", noResponsesSpec)}, []string{"--mgmt-spec", "s.yaml", "responses"}},
	} {
		cfg := tc.cfg
		if cfg.Spec == "" {
			cfg.Spec = spec
		}
		cfg.SchemaCheck = openapischema.Check
		if cfg.Token == "" {
			cfg.Token = "t"
		} else if cfg.Token == "-" {
			cfg.Token = ""
		}
		_, err := New(context.Background(), cfg, "http://127.0.0.1:1", log)
		require.Error(t, err, tc.name)
		for _, w := range tc.want {
			assert.Contains(t, err.Error(), w, tc.name)
		}
	}
}

// noResponsesSpec is readable but not valid OpenAPI 3.0: an operation
// without responses.
const noResponsesSpec = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /admin/api/services.json:\n    get: {tags: [Services]}\n"

// The agent build has no schema check: the proxy reads what it uses of the
// spec (its version, paths and operations), which is enough to route, and
// still refuses a document that is not a spec at all.
func TestProxyWithoutSchemaCheckReadsWhatItUses(t *testing.T) {
	cfg := Config{Spec: writeFile(t, "s.yaml", noResponsesSpec), Token: "t"}
	p, err := New(context.Background(), cfg, "http://127.0.0.1:1", zerolog.Nop())
	require.NoError(t, err)
	d, found := p.routes.Lookup("GET", "/admin/api/services.json")
	require.True(t, found)
	assert.Equal(t, "GET /admin/api/services.json", d.Operation.String())

	cfg.Spec = writeFile(t, "n.yaml", "info: {title: t}\npaths: {}\n")
	_, err = New(context.Background(), cfg, "http://127.0.0.1:1", zerolog.Nop())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--mgmt-spec")
	assert.Contains(t, err.Error(), `neither "openapi" nor "swagger"`)
}

func TestProxyThroughTheAgentBinary(t *testing.T) {
	co := testenv.StartCoordinator(t)
	addr := testenv.FreeAddr(t)
	t.Setenv("PORTOLAN_LOG_LEVEL", "debug")
	t.Setenv("PORTOLAN_AGENT_MGMT_TOKEN", co.Token) // the env twin of --mgmt-token
	a := testenv.StartAgent(t, co, "--service", "app", "--mgmt-listen", addr, "--mgmt-spec", specFile(t),
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

	resp, body := call(t, "POST", base+"/admin/api/services.xml", "application/x-www-form-urlencoded", "name=Through&system_name=through")
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", body)
	id := serviceIDRE.FindSubmatch(body)
	require.NotNil(t, id)
	resp, body = call(t, "GET", base+"/admin/api/services.xml", "", "")
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	assert.Contains(t, string(body), "<system_name>through</system_name>")
	resp, body = call(t, "DELETE", base+"/admin/api/services/"+string(id[1])+".xml", "", "")
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "%s", body)
	assert.Contains(t, string(body), "DELETE /admin/api/services/*")

	co.Kill()
	resp, body = call(t, "POST", base+"/admin/api/services.xml", "application/x-www-form-urlencoded", "name=Lost")
	assert.Contains(t, []int{http.StatusBadGateway, http.StatusServiceUnavailable}, resp.StatusCode, "%s", body)
	assert.NotContains(t, string(body), co.Token)
	a.Output.Contains(t, "management call") // debug access log on
	assert.NotContains(t, a.Output.String(), co.Token)
}

func TestAgentBinaryExitsOnBadStartup(t *testing.T) {
	spec := specFile(t)
	bad := writeFile(t, "t.yaml", "transforms:\n  - match: tag:Services\n    respons: {}\n")
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

// The token rides in the query of every upstream call: the proxy forwards
// in plain HTTP to loopback only, whether the upstream is its own flag or
// home (the default), and to anything else over https.
func TestProxyRefusesPlainHTTPOffLoopback(t *testing.T) {
	cfg := Config{Spec: specFile(t), Token: "t", SchemaCheck: openapischema.Check}
	_, err := New(context.Background(), cfg, "http://home.example:7070", zerolog.Nop())
	require.Error(t, err, "home in plain http off loopback")
	assert.Contains(t, err.Error(), "in clear")
	for _, ok := range []string{"http://127.0.0.1:1", "http://localhost:1", "http://[::1]:1", "https://admin.example.com"} {
		_, err := New(context.Background(), cfg, ok, zerolog.Nop())
		assert.NoError(t, err, ok)
	}
}
