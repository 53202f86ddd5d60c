package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/registry"
)

// fakeHome serves GET /v1/map with blocking queries, as the registry does:
// a query with ?index=N waits until the map's index differs from N, or wait.
type fakeHome struct {
	token string

	mu       sync.Mutex
	m        *registry.Map
	changed  chan struct{} // closed on every publish
	requests []url.Values
	auths    []string
	paths    []string
}

func newFakeHome(t *testing.T, m *registry.Map) (*fakeHome, *httptest.Server) {
	f := &fakeHome{token: "agent-token", m: m, changed: make(chan struct{})}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeHome) publish(m *registry.Map) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.m = m
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *fakeHome) queries() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.Values(nil), f.requests...)
}

func (f *fakeHome) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, r.URL.Query())
	f.auths = append(f.auths, r.Header.Get("Authorization"))
	f.paths = append(f.paths, r.URL.Path)
	f.mu.Unlock()
	if r.Method != http.MethodGet || r.URL.Path != "/v1/map" {
		http.NotFound(w, r)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+f.token {
		http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
		return
	}
	var index uint64
	if v := r.URL.Query().Get("index"); v != "" {
		var err error
		if index, err = strconv.ParseUint(v, 10, 64); err != nil {
			http.Error(w, "bad index", http.StatusBadRequest)
			return
		}
	}
	wait := 30 * time.Second
	if v := r.URL.Query().Get("wait"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			http.Error(w, "bad wait", http.StatusBadRequest)
			return
		}
		wait = d
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		f.mu.Lock()
		m, changed := f.m, f.changed
		f.mu.Unlock()
		if index == 0 || m.Index != index {
			writeMap(w, m)
			return
		}
		select {
		case <-changed:
		case <-timer.C:
			writeMap(w, m)
			return
		case <-r.Context().Done():
			return
		}
	}
}

func writeMap(w http.ResponseWriter, m *registry.Map) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set(registry.IndexHeader, strconv.FormatUint(m.Index, 10))
	_ = json.NewEncoder(w).Encode(m)
}

// runMapCmd runs `portolan map ARGS...` and returns its exit code, standard
// output and standard error.
func runMapCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	app, stdout, stderr := testApp(nil)
	code := run(app, append([]string{"portolan", "map"}, args...), stderr)
	return code, stdout.String(), stderr.String()
}

func TestMapCommandTable(t *testing.T) {
	f, srv := newFakeHome(t, testMap())
	code, out, errOut := runMapCmd(t, "--home", srv.URL+"/", "--token", "agent-token")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, goldenTable, out)
	assert.Empty(t, errOut)
	assert.Equal(t, []string{"Bearer agent-token"}, f.auths)
	assert.Equal(t, []string{"/v1/map"}, f.paths)
	assert.Equal(t, []url.Values{{"summary": {"1"}}}, f.queries(),
		"a one-shot query does not block; it asks for the counts first, and a peer that answers the whole map is read once")
}

func TestMapCommandFormats(t *testing.T) {
	_, srv := newFakeHome(t, testMap())
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-o", "tree"}, goldenTree},
		{[]string{"--output", "dot"}, goldenDOT},
		{[]string{"-o", "TABLE"}, goldenTable},
	} {
		code, out, errOut := runMapCmd(t, append([]string{"--home", srv.URL, "--token", "agent-token"}, tc.args...)...)
		require.Equal(t, 0, code, errOut)
		assert.Equal(t, tc.want, out, "%v", tc.args)
	}

	code, out, errOut := runMapCmd(t, "--home", srv.URL, "--token", "agent-token", "-o", "json")
	require.Equal(t, 0, code, errOut)
	var m registry.Map
	require.NoError(t, json.Unmarshal([]byte(out), &m))
	assert.Equal(t, *testMap(), m)
}

func TestMapCommandServiceFilter(t *testing.T) {
	f, srv := newFakeHome(t, testMap())
	code, out, errOut := runMapCmd(t, "--home", srv.URL, "--token", "agent-token", "--service", "news", "-o", "json")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, []url.Values{{"service": {"news"}}}, f.queries(), "the coordinator is asked for the service alone")
	var m registry.Map
	require.NoError(t, json.Unmarshal([]byte(out), &m))
	require.Len(t, m.Services, 1)
	assert.Equal(t, testMap().Services[0], m.Services[0])

	code, out, errOut = runMapCmd(t, "--home", srv.URL, "--token", "agent-token", "--service", "billing")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "SERVICE  PLAN  INSTANCE  ADDRESS  STATUS  AGE\nbilling  gold  -         -        -       -\n", out)

	code, out, errOut = runMapCmd(t, "--home", srv.URL, "--token", "agent-token", "--service", "nope", "-o", "tree")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "(no services)\n", out)
	assert.Contains(t, errOut, `no service "nope" on the map`)
}

func TestMapCommandTokenFromEnv(t *testing.T) {
	f, srv := newFakeHome(t, testMap())
	t.Setenv("PORTOLAN_MAP_TOKEN", "agent-token")
	t.Setenv("PORTOLAN_HOME", srv.URL)
	t.Setenv("PORTOLAN_MAP_OUTPUT", "tree")
	code, out, errOut := runMapCmd(t)
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, goldenTree, out)
	assert.Equal(t, []string{"Bearer agent-token"}, f.auths)
}

func TestMapCommand401(t *testing.T) {
	_, srv := newFakeHome(t, testMap())
	code, out, errOut := runMapCmd(t, "--home", srv.URL, "--token", "wrong")
	assert.Equal(t, 1, code)
	assert.Empty(t, out)
	assert.True(t, strings.HasPrefix(errOut, "portolan: map: home refused the token (HTTP 401: unauthorized): --token must be "), "got %q", errOut)
	assert.NotContains(t, errOut, "wrong", "the token is not printed")

	// --watch stops too: retrying cannot fix a wrong token.
	code, _, errOut = runMapCmd(t, "--home", srv.URL, "--token", "wrong", "--watch")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "home refused the token (HTTP 401")
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

func TestMapCommandConnectionRefused(t *testing.T) {
	home := "http://" + closedAddr(t)
	code, _, errOut := runMapCmd(t, "--home", home, "--token", "agent-token")
	assert.Equal(t, 1, code)
	assert.Equal(t, "portolan: map: home at "+home+
		" is unreachable: connection refused (is `portolan coordinator` running there? see --home)\n", errOut)
}

// A local agent's API that does not answer is named, not taken for home.
func TestMapViaAgentNotAnswering(t *testing.T) {
	addr := closedAddr(t)
	code, out, errOut := runMapCmd(t, "--via", addr)
	assert.Equal(t, 1, code)
	assert.Empty(t, out)
	assert.Equal(t, "portolan: map: the agent at "+addr+
		" did not answer: connection refused (is `portolan agent` running there? see --via)\n", errOut)
}

func TestMapCommandErrors(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/down/v1/map", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "registry warming up", http.StatusServiceUnavailable)
	})
	mux.HandleFunc("/html/v1/map", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "<html>hello</html>")
	})
	hang := make(chan struct{})
	mux.HandleFunc("/hang/v1/map", func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(hang) })

	code, _, errOut := runMapCmd(t, "--home", srv.URL+"/down", "--token", "t")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "503 Service Unavailable: registry warming up")

	code, _, errOut = runMapCmd(t, "--home", srv.URL+"/html", "--token", "t")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "the answer is not a service map")

	start := time.Now()
	code, _, errOut = runMapCmd(t, "--home", srv.URL+"/hang", "--token", "t", "--timeout", "200ms")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "home at "+srv.URL+"/hang did not answer in time (see --timeout)")
	assert.Less(t, time.Since(start), 5*time.Second)
}

func TestMapCommandBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--token", "t", "-o", "xml"}, `unknown output format "xml": want table, json, tree or dot`},
		{[]string{}, "--token is required (or PORTOLAN_MAP_TOKEN)"},
		{[]string{"--token", "t", "--home", "ftp://x"}, `--home "ftp://x": want an http:// or https:// URL`},
		{[]string{"--token", "t", "--home", "127.0.0.1:7070"}, `want an http:// or https:// URL`},
		{[]string{"--token", "t", "--status", "critcal"}, `--status "critcal": want passing, warning, critical or draining`},
	} {
		t.Setenv("PORTOLAN_MAP_TOKEN", "")
		code, out, errOut := runMapCmd(t, tc.args...)
		assert.Equal(t, 1, code, "%v", tc.args)
		assert.Empty(t, out)
		assert.Contains(t, errOut, tc.want, "%v", tc.args)
	}
}

func TestMapHomeRedactsPassword(t *testing.T) {
	s := &mapSource{client: homeClient("http://user:secret@"+closedAddr(t), "")}
	_, err := s.query(t.Context(), registry.MapQuery{}, 0, 0)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "secret")
	assert.Contains(t, err.Error(), "is unreachable: connection refused")
}

// waitFor polls cond until it holds, or fails the test.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestMapHelp(t *testing.T) {
	app, stdout, _ := testApp(nil)
	require.NoError(t, app.Run([]string{"portolan", "map", "--help"}))
	out := stdout.String()
	for _, s := range []string{"--home", "--token", "--service", "--output", "-o", "--watch", "--timeout", "PORTOLAN_MAP_TOKEN"} {
		assert.Contains(t, out, s)
	}
}
