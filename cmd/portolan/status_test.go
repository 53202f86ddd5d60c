package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
		_, _ = io.WriteString(w, `{"id":"news-1","revision":3,"home":{"reachable":true}}`)
	}))
	t.Cleanup(srv.Close)
	code, out, errOut := runStatus(t, "--via", strings.TrimPrefix(srv.URL, "http://"))
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "{\n  \"id\": \"news-1\",\n  \"revision\": 3,\n  \"home\": {\n    \"reachable\": true\n  }\n}\n", out)
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
	assert.Equal(t, 1, code)
	assert.Equal(t, "portolan: status: the agent answered 503 Service Unavailable: {\"error\":\"starting\"}\n", errOut)

	code, _, errOut = runStatus(t, "--via", via+"/html")
	assert.Equal(t, 1, code)
	assert.Equal(t, "portolan: status: the agent's answer is not JSON: invalid character '<' looking for beginning of value\n", errOut)

	addr := closedAddr(t)
	code, _, errOut = runStatus(t, "--via", addr)
	assert.Equal(t, 1, code)
	assert.True(t, strings.HasPrefix(errOut, "portolan: status: cannot reach the agent at "+addr+`: Get "http://`+addr+`/v1/agent/self": dial tcp `), errOut)
	assert.True(t, strings.HasSuffix(errOut, "connection refused (see --via)\n"), errOut)
}
