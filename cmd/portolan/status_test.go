package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// runStatus runs `portolan status ARGS...` and returns its exit code,
// standard output and standard error.
func runStatus(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	app, stdout, stderr := testApp(nil)
	code := run(app, append([]string{"portolan", "status"}, args...), stderr)
	return code, stdout.String(), stderr.String()
}

func TestStatusPrintsTheAgentsSelf(t *testing.T) {
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.URL.Path)
		_, _ = io.WriteString(w, `{"id":"news-1","revision":3,"status":"passing","running":true}`)
	}))
	t.Cleanup(srv.Close)
	code, out, errOut := runStatus(t, "--via", strings.TrimPrefix(srv.URL, "http://"))
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "{\n  \"id\": \"news-1\",\n  \"revision\": 3,\n  \"status\": \"passing\",\n  \"running\": true\n}\n", out)
	assert.Equal(t, []string{"/v1/agent/self"}, paths)
}

func TestStatusErrors(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/down/v1/agent/self", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, `{"error":"starting"}`, http.StatusServiceUnavailable)
	})
	mux.HandleFunc("/html/v1/agent/self", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "<html>hello</html>")
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	via := strings.TrimPrefix(srv.URL, "http://")

	code, _, errOut := runStatus(t, "--via", via+"/down")
	assert.Equal(t, 3, code)
	assert.Equal(t, "portolan: status: the agent answered 503 Service Unavailable: {\"error\":\"starting\"}\n", errOut)

	code, _, errOut = runStatus(t, "--via", via+"/html")
	assert.Equal(t, 3, code)
	assert.Equal(t, "portolan: status: the agent's answer is not JSON: invalid character '<' looking for beginning of value\n", errOut)

	addr := closedAddr(t)
	code, _, errOut = runStatus(t, "--via", addr)
	assert.Equal(t, 3, code)
	assert.True(t, strings.HasPrefix(errOut, "portolan: status: cannot reach the agent at "+addr+`: Get "http://`+addr+`/v1/agent/self": dial tcp `), errOut)
	assert.True(t, strings.HasSuffix(errOut, "connection refused (see --via)\n"), errOut)
}

// The exit code says the instance's health, as --check-exec reads one:
// passing 0, warning 1, critical or not running 2; --quiet prints nothing.
func TestStatusExitCodeSaysTheHealth(t *testing.T) {
	var self atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, self.Load().(string))
	}))
	t.Cleanup(srv.Close)
	via := strings.TrimPrefix(srv.URL, "http://")
	for body, want := range map[string]int{
		`{"status":"passing","running":true}`:  0,
		`{"status":"warning","running":true}`:  1,
		`{"status":"critical","running":true}`: 2,
		`{"status":"passing","running":false}`: 2,
		`{}`:                                   2,
	} {
		self.Store(body)
		code, out, errOut := runStatus(t, "--via", via)
		assert.Equal(t, want, code, body)
		assert.NotEmpty(t, out, body)
		assert.Empty(t, errOut, body)
		code, out, errOut = runStatus(t, "--via", via, "--quiet")
		assert.Equal(t, want, code, body)
		assert.Empty(t, out+errOut, "--quiet: %s", body)
	}
	code, out, errOut := runStatus(t, "--via", closedAddr(t), "--quiet")
	assert.Equal(t, 3, code)
	assert.Empty(t, out+errOut)
}

// status --coordinator asks a real coordinator's /health/ready on the
// address PORTOLAN_COORDINATOR_LISTEN gives the coordinator, whether it serves plain
// HTTP or HTTPS with a CA of its own.
func TestStatusAsksACoordinator(t *testing.T) {
	for _, tlsMode := range []string{"auto", "on"} { // auto on loopback: plain HTTP
		co := testenv.StartCoordinator(t, "--tls", tlsMode)
		t.Setenv("PORTOLAN_COORDINATOR_LISTEN", co.Addr)
		code, out, errOut := runStatus(t, "--coordinator")
		assert.Equal(t, 0, code, "--tls %s: %s", tlsMode, errOut)
		assert.JSONEq(t, `{"status":"ok","checks":{"store":"ok","usage":"ok"}}`, out, tlsMode)
		code, out, errOut = runStatus(t, "--coordinator", "--quiet")
		assert.Equal(t, 0, code, "--tls %s: %s", tlsMode, errOut)
		assert.Empty(t, out+errOut)
		co.Stop()
		code, out, errOut = runStatus(t, "--coordinator", "--quiet")
		assert.Equal(t, 3, code, "--tls %s, coordinator stopped", tlsMode)
		assert.Empty(t, out+errOut)
	}
	addr := closedAddr(t)
	code, _, errOut := runStatus(t, "--coordinator", "--listen", addr)
	assert.Equal(t, 3, code)
	assert.Contains(t, errOut, "portolan: status: cannot reach the coordinator at "+addr)
}

func TestLocalAddrDialsWildcardsOnLoopback(t *testing.T) {
	for listen, want := range map[string]string{
		":7070": "127.0.0.1:7070", "0.0.0.0:7070": "127.0.0.1:7070", "[::]:7070": "[::1]:7070",
		"10.1.2.3:7070": "10.1.2.3:7070", "localhost:7070": "localhost:7070",
	} {
		got, err := localAddr(listen)
		require.NoError(t, err, listen)
		assert.Equal(t, want, got, listen)
	}
	_, err := localAddr("7070")
	assert.Error(t, err)
}
