package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/backoff"
	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/client"
)

// testMap is a hand-made service map: a service with three plans (one that
// no instance serves), two placements and instances in every status, one
// serving two plans and one serving none; a service with a plan and no
// instances; a service the composition does not know (an IPv6 instance);
// and a service with nothing at all.
func testMap() *registry.Map {
	basic := registry.PlanRef{ID: 10, SystemName: "basic", Name: "Basic"}
	premium := registry.PlanRef{ID: 11, SystemName: "premium", Name: "Premium"}
	partner := registry.PlanRef{ID: 12, SystemName: "partner", Name: "Partner"}
	gold := registry.PlanRef{ID: 20, SystemName: "gold", Name: "Gold"}
	hb := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	age := func(d time.Duration) registry.Duration { return registry.Duration(d) }
	return &registry.Map{
		Index:    42,
		Revision: 7,
		Services: []registry.MapService{
			{
				Name:  "news",
				ID:    1,
				Plans: []registry.PlanRef{basic, premium, partner},
				Placements: []registry.MapPlacement{
					{ID: 1, Name: "shared", Selector: map[string]string{}, Plans: []registry.PlanRef{basic}},
					{ID: 2, Name: "premium-pool", Selector: map[string]string{"pool": "premium"}, Plans: []registry.PlanRef{premium}},
				},
				Instances: []registry.MapInstance{
					{ID: "news-a1b2", Service: "news", Address: "10.0.0.5", Port: 3000, Status: registry.StatusPassing,
						Plans: []registry.PlanRef{basic, premium}, Placements: []string{"shared", "premium-pool"},
						AgentVersion: "1.0.0", LastHeartbeat: hb, Age: age(1200 * time.Millisecond)},
					{ID: "news-c3d4", Service: "news", Address: "10.0.0.6", Port: 3000, Labels: map[string]string{"pool": "premium"},
						Status: registry.StatusWarning, Output: "slow", Plans: []registry.PlanRef{premium}, Placements: []string{"premium-pool"},
						AgentVersion: "1.0.0", LastHeartbeat: hb, Age: age(3*time.Minute + 4*time.Second)},
					{ID: "news-e5f6", Service: "news", Address: "10.0.0.7", Port: 3000, Status: registry.StatusCritical,
						Output: "TTL expired", Plans: []registry.PlanRef{basic}, Placements: []string{"shared"},
						AgentVersion: "1.0.0", LastHeartbeat: hb, Age: age(45 * time.Second)},
					{ID: "news-g7h8", Service: "news", Address: "10.0.0.8", Port: 3000, Status: registry.StatusDraining,
						Plans: []registry.PlanRef{basic}, Placements: []string{"shared"},
						AgentVersion: "1.0.0", LastHeartbeat: hb, Age: age(350 * time.Millisecond)},
					{ID: "news-unplaced", Service: "news", Address: "10.0.0.9", Port: 3000, Status: registry.StatusPassing,
						Plans: []registry.PlanRef{}, AgentVersion: "1.0.0", LastHeartbeat: hb, Age: age(2*time.Hour + 5*time.Minute)},
				},
			},
			{
				Name:       "billing",
				ID:         2,
				Plans:      []registry.PlanRef{gold},
				Placements: []registry.MapPlacement{},
				Instances:  []registry.MapInstance{},
			},
			{
				Name:       "legacy",
				Plans:      []registry.PlanRef{},
				Placements: []registry.MapPlacement{},
				Instances: []registry.MapInstance{
					{ID: "legacy-1", Service: "legacy", Address: "fd00::1", Port: 8080, Status: registry.StatusPassing,
						Plans: []registry.PlanRef{}, LastHeartbeat: hb, Age: age(2 * time.Second)},
				},
			},
			{Name: "empty", ID: 3, Plans: []registry.PlanRef{}, Placements: []registry.MapPlacement{}, Instances: []registry.MapInstance{}},
		},
	}
}

const goldenTable = `SERVICE  PLAN     INSTANCE       ADDRESS         STATUS    AGE
news     basic    news-a1b2      10.0.0.5:3000   passing   1.2s
news     basic    news-e5f6      10.0.0.7:3000   critical  45s
news     basic    news-g7h8      10.0.0.8:3000   draining  350ms
news     premium  news-a1b2      10.0.0.5:3000   passing   1.2s
news     premium  news-c3d4      10.0.0.6:3000   warning   3m4s
news     partner  -              -               -         -
news     -        news-unplaced  10.0.0.9:3000   passing   2h5m
billing  gold     -              -               -         -
legacy   -        legacy-1       [fd00::1]:8080  passing   2s
empty    -        -              -               -         -
`

const goldenTree = `news
├── basic
│   ├── news-a1b2      10.0.0.5:3000   passing   1.2s   via shared, premium-pool
│   ├── news-e5f6      10.0.0.7:3000   critical  45s    via shared
│   └── news-g7h8      10.0.0.8:3000   draining  350ms  via shared
├── premium
│   ├── news-a1b2      10.0.0.5:3000   passing   1.2s   via shared, premium-pool
│   └── news-c3d4      10.0.0.6:3000   warning   3m4s   via premium-pool
├── partner
│   └── (no instances)
└── (no plan)
    └── news-unplaced  10.0.0.9:3000   passing   2h5m
billing
└── gold
    └── (no instances)
legacy  (not in the composition)
└── (no plan)
    └── legacy-1       [fd00::1]:8080  passing   2s
empty
└── (no plans, no instances)
`

const goldenDOT = `digraph "portolan" {
  graph [rankdir=LR, fontname="Helvetica"];
  node [fontname="Helvetica", fontsize=11];
  edge [color="#757575"];
  "service/news" [label="news", shape=box, style="bold,rounded"];
  "plan/news/basic" [label="basic", shape=ellipse, style="solid"];
  "service/news" -> "plan/news/basic";
  "instance/news-a1b2" [label="news-a1b2\n10.0.0.5:3000\npassing", shape=box, style="filled,rounded", fillcolor="#c8e6c9", color="#2e7d32"];
  "plan/news/basic" -> "instance/news-a1b2";
  "instance/news-e5f6" [label="news-e5f6\n10.0.0.7:3000\ncritical", shape=box, style="filled,rounded", fillcolor="#ffcdd2", color="#c62828"];
  "plan/news/basic" -> "instance/news-e5f6";
  "instance/news-g7h8" [label="news-g7h8\n10.0.0.8:3000\ndraining", shape=box, style="filled,rounded", fillcolor="#e0e0e0", color="#616161"];
  "plan/news/basic" -> "instance/news-g7h8";
  "plan/news/premium" [label="premium", shape=ellipse, style="solid"];
  "service/news" -> "plan/news/premium";
  "plan/news/premium" -> "instance/news-a1b2";
  "instance/news-c3d4" [label="news-c3d4\n10.0.0.6:3000\nwarning", shape=box, style="filled,rounded", fillcolor="#fff3c4", color="#f9a825"];
  "plan/news/premium" -> "instance/news-c3d4";
  "plan/news/partner" [label="partner", shape=ellipse, style="solid"];
  "service/news" -> "plan/news/partner";
  "noplan/news" [label="(no plan)", shape=ellipse, style="dashed"];
  "service/news" -> "noplan/news";
  "instance/news-unplaced" [label="news-unplaced\n10.0.0.9:3000\npassing", shape=box, style="filled,rounded", fillcolor="#c8e6c9", color="#2e7d32"];
  "noplan/news" -> "instance/news-unplaced";
  "service/billing" [label="billing", shape=box, style="bold,rounded"];
  "plan/billing/gold" [label="gold", shape=ellipse, style="solid"];
  "service/billing" -> "plan/billing/gold";
  "service/legacy" [label="legacy\n(not in the composition)", shape=box, style="dashed,rounded"];
  "noplan/legacy" [label="(no plan)", shape=ellipse, style="dashed"];
  "service/legacy" -> "noplan/legacy";
  "instance/legacy-1" [label="legacy-1\n[fd00::1]:8080\npassing", shape=box, style="filled,rounded", fillcolor="#c8e6c9", color="#2e7d32"];
  "noplan/legacy" -> "instance/legacy-1";
  "service/empty" [label="empty", shape=box, style="bold,rounded"];
}
`

func render(t *testing.T, f func(io.Writer, *registry.Map) error, m *registry.Map) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, f(&b, m))
	return b.String()
}

func TestRenderTableGolden(t *testing.T) {
	assert.Equal(t, goldenTable, render(t, renderTable, testMap()))
}

func TestRenderTreeGolden(t *testing.T) {
	assert.Equal(t, goldenTree, render(t, renderTree, testMap()))
}

func TestRenderDOTGolden(t *testing.T) {
	out := render(t, renderDOT, testMap())
	assert.Equal(t, goldenDOT, out)
	checkDOT(t, out)
}

func TestRenderJSONRoundTrips(t *testing.T) {
	m := testMap()
	out := render(t, renderJSON, m)
	assert.True(t, strings.HasPrefix(out, "{\n  \"index\": 42,\n"), "indented: %.40q", out)
	var back registry.Map
	require.NoError(t, json.Unmarshal([]byte(out), &back))
	assert.Equal(t, *m, back)
}

func TestRenderEmptyMap(t *testing.T) {
	m := &registry.Map{Index: 1, Services: []registry.MapService{}}
	assert.Equal(t, "SERVICE  PLAN  INSTANCE  ADDRESS  STATUS  AGE\n", render(t, renderTable, m))
	assert.Equal(t, "(no services)\n", render(t, renderTree, m))
	dot := render(t, renderDOT, m)
	checkDOT(t, dot)
	assert.NotContains(t, dot, "->")
	assert.JSONEq(t, `{"index":1,"revision":0,"services":[]}`, render(t, renderJSON, m))
}

// TestPlanGroupsMatchesPlansBySystemName: an instance's plan reference may
// lack the id the service's plan list has.
func TestPlanGroupsMatchesPlansBySystemName(t *testing.T) {
	s := registry.MapService{
		Name:  "svc",
		Plans: []registry.PlanRef{{ID: 1, SystemName: "a"}, {ID: 2, SystemName: "b"}},
		Instances: []registry.MapInstance{
			{ID: "i1", Plans: []registry.PlanRef{{SystemName: "b"}, {SystemName: "b"}}},
			{ID: "i2", Plans: []registry.PlanRef{{ID: 9, Name: "Odd"}}},
			{ID: "i3", Plans: []registry.PlanRef{{ID: 8}}},
		},
	}
	var got []string
	for _, g := range planGroups(s) {
		var ids []string
		for _, inst := range g.instances {
			ids = append(ids, inst.ID)
		}
		got = append(got, g.label+":"+strings.Join(ids, ","))
	}
	assert.Equal(t, []string{"a:", "b:i1", "Odd:i2", "#8:i3"}, got)
}

func TestFormatAge(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Second:                          "0s",
		0:                                     "0s",
		350 * time.Millisecond:                "350ms",
		999*time.Millisecond + 1:              "999ms",
		1200 * time.Millisecond:               "1.2s",
		1249 * time.Millisecond:               "1.2s",
		5 * time.Second:                       "5s",
		59*time.Second + 990*time.Millisecond: "1m0s",
		3*time.Minute + 4*time.Second + 400*time.Millisecond: "3m4s",
		2*time.Hour + 5*time.Minute + 10*time.Second:         "2h5m",
		3*24*time.Hour + 4*time.Hour + 10*time.Minute:        "3d4h",
	} {
		assert.Equal(t, want, formatAge(d), "%v", d)
	}
}

func TestDOTEscapesNames(t *testing.T) {
	m := &registry.Map{Services: []registry.MapService{{
		Name:  `we"ird\svc`,
		ID:    1,
		Plans: []registry.PlanRef{{ID: 1, SystemName: "p\"1"}},
		Instances: []registry.MapInstance{{
			ID: "i\"d\nx", Address: "h", Port: 1, Status: "custom",
			Plans: []registry.PlanRef{{ID: 1, SystemName: "p\"1"}},
		}},
	}}}
	out := render(t, renderDOT, m)
	checkDOT(t, out)
	assert.Contains(t, out, `"service/we\"ird\\svc" [label="we\"ird\\svc"`)
	assert.Contains(t, out, `"instance/i\"d\nx" [label="i\"d\nx\nh:1\ncustom", shape=box, style="filled,rounded", fillcolor="#ffffff", color="#000000"];`)
	assert.Equal(t, `"a\\b\"c\nd\ne"`, dotQuote("a\\b\"c\r\nd\ne"))
}

// checkDOT checks that out is a digraph of the statements renderDOT writes:
// attribute statements, node statements and edges, every id a quoted
// string, every edge between declared nodes.
func checkDOT(t *testing.T, out string) {
	t.Helper()
	const q = `"(?:[^"\\]|\\.)*"`
	const attrs = `\[(?:\w+=(?:` + q + `|[\w.]+)(?:, )?)+\]`
	var (
		header = regexp.MustCompile(`^digraph ` + q + ` \{$`)
		global = regexp.MustCompile(`^  (?:graph|node|edge) ` + attrs + `;$`)
		node   = regexp.MustCompile(`^  (` + q + `) ` + attrs + `;$`)
		edge   = regexp.MustCompile(`^  (` + q + `) -> (` + q + `);$`)
	)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.GreaterOrEqual(t, len(lines), 2)
	require.Regexp(t, header, lines[0])
	require.Equal(t, "}", lines[len(lines)-1])
	nodes := map[string]bool{}
	for _, l := range lines[1 : len(lines)-1] {
		switch {
		case global.MatchString(l):
		case node.MatchString(l):
			id := node.FindStringSubmatch(l)[1]
			assert.False(t, nodes[id], "node %s declared twice", id)
			nodes[id] = true
		case edge.MatchString(l):
			m := edge.FindStringSubmatch(l)
			assert.True(t, nodes[m[1]], "edge from undeclared %s", m[1])
			assert.True(t, nodes[m[2]], "edge to undeclared %s", m[2])
		default:
			t.Errorf("not a DOT statement: %q", l)
		}
	}
}

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
	assert.Equal(t, []url.Values{{}}, f.queries(), "a one-shot query does not block")
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
	t.Setenv("PORTOLAN_TOKEN", "agent-token")
	t.Setenv("PORTOLAN_HOME", srv.URL)
	t.Setenv("PORTOLAN_OUTPUT", "tree")
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
	assert.True(t, strings.HasPrefix(errOut, "portolan: map: the coordinator refused the agent token (401)"), "got %q", errOut)
	assert.NotContains(t, errOut, "wrong", "the token is not printed")

	// --watch stops too: retrying cannot fix a wrong token.
	code, _, errOut = runMapCmd(t, "--home", srv.URL, "--token", "wrong", "--watch")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "the coordinator refused the agent token (401)")
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
	assert.Equal(t, "portolan: map: cannot reach the coordinator at "+home+
		": connection refused (is `portolan coordinator` running there? see --home)\n", errOut)
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
	assert.Contains(t, errOut, "the coordinator at "+srv.URL+"/hang did not answer in time (see --timeout)")
	assert.Less(t, time.Since(start), 5*time.Second)
}

func TestMapCommandBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--token", "t", "-o", "xml"}, `unknown output format "xml": want table, json, tree or dot`},
		{[]string{}, "--token is required (or PORTOLAN_TOKEN)"},
		{[]string{"--token", "t", "--home", "ftp://x"}, `--home "ftp://x": want an http:// or https:// URL`},
		{[]string{"--token", "t", "--home", "127.0.0.1:7070"}, `want an http:// or https:// URL`},
		{[]string{"--token", "t", "extra"}, `unexpected argument "extra"`},
	} {
		t.Setenv("PORTOLAN_TOKEN", "")
		code, out, errOut := runMapCmd(t, tc.args...)
		assert.Equal(t, 1, code, "%v", tc.args)
		assert.Empty(t, out)
		assert.Contains(t, errOut, tc.want, "%v", tc.args)
	}
}

func TestMapHomeRedactsPassword(t *testing.T) {
	s := &mapSource{client: homeClient("http://user:secret@127.0.0.1:1", "")}
	err := s.transportError(&url.Error{Op: "Get", URL: "x", Err: errors.New("boom")})
	assert.NotContains(t, err.Error(), "secret")
	assert.Contains(t, err.Error(), "boom")
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

// secondMap is testMap after a change: news-a1b2 went critical and
// news-k1l2 joined the basic plan.
func secondMap() *registry.Map {
	m := testMap()
	m.Index = 43
	news := &m.Services[0]
	news.Instances[0].Status = registry.StatusCritical
	news.Instances = append(news.Instances, registry.MapInstance{
		ID: "news-k1l2", Service: "news", Address: "10.0.0.10", Port: 3000, Status: registry.StatusPassing,
		Plans: []registry.PlanRef{news.Plans[0]}, Age: registry.Duration(time.Second),
	})
	return m
}

// TestMapCommandWatch runs `portolan map --watch` against a coordinator that
// answers blocking queries: the first map is drawn, the next query blocks
// with the first map's index, and the second map is drawn when it comes.
func TestMapCommandWatch(t *testing.T) {
	f, srv := newFakeHome(t, testMap())
	app, _, _ := testApp(nil)
	var stdout, stderr testenv.SyncBuffer
	app.Writer, app.ErrWriter = &stdout, &stderr
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- app.RunContext(ctx, []string{"portolan", "map", "--home", srv.URL, "--token", "agent-token", "--watch", "-o", "tree"})
	}()

	waitFor(t, "the first map and a blocking query", func() bool {
		return strings.Contains(stdout.String(), "news-a1b2") && len(f.queries()) >= 2
	})
	assert.NotContains(t, stdout.String(), "news-k1l2")
	f.publish(secondMap())
	waitFor(t, "the second map", func() bool {
		return strings.Contains(stdout.String(), "news-k1l2") && len(f.queries()) >= 3
	})
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("map --watch did not stop with its context")
	}

	q := f.queries()
	assert.Equal(t, url.Values{}, q[0], "the first query answers at once")
	assert.Equal(t, url.Values{"index": {"42"}, "wait": {"5m"}}, q[1], "the second query blocks on the first map's index")
	assert.Equal(t, url.Values{"index": {"43"}, "wait": {"5m"}}, q[2])

	out := stdout.String()
	assert.NotContains(t, out, "\x1b[", "no terminal codes when stdout is not a terminal")
	drawings := strings.Split(out, "\n"+strings.Repeat("─", 60)+"\n")
	require.Len(t, drawings, 2, "two drawings, one separator:\n%s", out)
	title, tree, ok := strings.Cut(drawings[0], "\n\n")
	require.True(t, ok)
	assert.Regexp(t, `^`+regexp.QuoteMeta(srv.URL)+` · index 42 · revision 7 · \d\d:\d\d:\d\d$`, title)
	assert.Equal(t, goldenTree, tree)
	title, tree, ok = strings.Cut(drawings[1], "\n\n")
	require.True(t, ok)
	assert.Contains(t, title, "· index 43 ·")
	assert.Equal(t, render(t, renderTree, secondMap()), tree)
	assert.Empty(t, stderr.String())
}

// scriptedHome answers GET /v1/map from a list of handlers, one per request;
// past the list, it blocks until the request ends.
func scriptedHome(t *testing.T, steps ...http.HandlerFunc) (*httptest.Server, func() []url.Values) {
	var mu sync.Mutex
	var queries []url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n := len(queries)
		queries = append(queries, r.URL.Query())
		mu.Unlock()
		if n < len(steps) {
			steps[n](w, r)
			return
		}
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	return srv, func() []url.Values {
		mu.Lock()
		defer mu.Unlock()
		return append([]url.Values(nil), queries...)
	}
}

func serveMap(m *registry.Map) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { writeMap(w, m) }
}

// homeClient is a client of the home at base.
func homeClient(base, token string) *client.Client {
	c, err := client.New(client.Config{Address: base, Token: token})
	if err != nil {
		panic(err)
	}
	return c
}

func testWatcher(home, format string, out, errOut io.Writer) *mapWatcher {
	return &mapWatcher{
		source:      &mapSource{client: homeClient(home, "agent-token")},
		format:      format,
		render:      mapRenderers[format],
		out:         out,
		errOut:      errOut,
		wait:        time.Minute,
		timeout:     5 * time.Second,
		minInterval: time.Millisecond,
		retry:       backoff.Backoff{Min: 10 * time.Millisecond, Max: 50 * time.Millisecond},
		now:         func() time.Time { return time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC) },
	}
}

// TestWatchRetriesAndResetsIndex: an error is retried with the same index;
// an index that goes backwards (a coordinator restart) is drawn and reset, so
// the next query answers at once; an unchanged map is not drawn again.
func TestWatchRetriesAndResetsIndex(t *testing.T) {
	a, b := testMap(), secondMap()
	a.Index, b.Index = 10, 3
	srv, queries := scriptedHome(t,
		serveMap(a),
		func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "boom", http.StatusInternalServerError) },
		serveMap(b),
		serveMap(b),
	)
	var stdout, stderr testenv.SyncBuffer
	w := testWatcher(srv.URL, mapFormatTable, &stdout, &stderr)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- w.run(ctx) }()
	waitFor(t, "five queries", func() bool { return len(queries()) >= 5 })
	cancel()
	require.NoError(t, <-done)

	assert.Equal(t, []url.Values{
		{},
		{"index": {"10"}, "wait": {"1m"}},
		{"index": {"10"}, "wait": {"1m"}}, // retried after the error
		{},                                // index went backwards: reset
		{"index": {"3"}, "wait": {"1m"}},
	}, queries()[:5])
	out := stdout.String()
	assert.Equal(t, 2, strings.Count(out, "SERVICE  PLAN"), "drawn twice:\n%s", out)
	assert.Contains(t, out, "· index 10 ·")
	assert.Contains(t, out, "· index 3 ·")
	assert.Contains(t, stderr.String(), "500 Internal Server Error: boom; retrying in ")
}

// TestWatchKeepsGoingWhileHomeIsDown: connection errors are retried until the
// coordinator answers.
func TestWatchKeepsGoingWhileHomeIsDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())

	var stdout, stderr testenv.SyncBuffer
	w := testWatcher("http://"+addr, mapFormatTable, &stdout, &stderr)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- w.run(ctx) }()
	waitFor(t, "two failures", func() bool { return strings.Count(stderr.String(), "connection refused") >= 2 })

	// Home comes up on the same address.
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("port %s taken meanwhile: %v", addr, err)
	}
	f := &fakeHome{token: "agent-token", m: testMap(), changed: make(chan struct{})}
	srv := &http.Server{Handler: f, ReadHeaderTimeout: time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	waitFor(t, "the map", func() bool { return strings.Contains(stdout.String(), "news-a1b2") })
	cancel()
	require.NoError(t, <-done)
	assert.Contains(t, stderr.String(), "cannot reach the coordinator at http://"+addr+": connection refused")
}

func TestWatchOnTerminalClearsScreen(t *testing.T) {
	f, srv := newFakeHome(t, testMap())
	var stdout testenv.SyncBuffer
	w := testWatcher(srv.URL, mapFormatTree, &stdout, io.Discard)
	w.tty = true
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- w.run(ctx) }()
	waitFor(t, "a blocking query", func() bool { return len(f.queries()) >= 2 })
	f.publish(secondMap())
	waitFor(t, "the second map", func() bool { return strings.Contains(stdout.String(), "news-k1l2") })
	cancel()
	require.NoError(t, <-done)
	out := stdout.String()
	assert.True(t, strings.HasPrefix(out, clearScreen), "%.20q", out)
	assert.Equal(t, 2, strings.Count(out, clearScreen))
	assert.NotContains(t, out, "─────")
}

// TestWatchJSONIsAStream: --watch -o json writes one JSON document per change
// and nothing else, so that jq can follow it.
func TestWatchJSONIsAStream(t *testing.T) {
	f, srv := newFakeHome(t, testMap())
	var stdout testenv.SyncBuffer
	w := testWatcher(srv.URL, mapFormatJSON, &stdout, io.Discard)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- w.run(ctx) }()
	waitFor(t, "a blocking query", func() bool { return len(f.queries()) >= 2 })
	f.publish(secondMap())
	waitFor(t, "the second map", func() bool { return strings.Contains(stdout.String(), "news-k1l2") })
	cancel()
	require.NoError(t, <-done)

	dec := json.NewDecoder(strings.NewReader(stdout.String()))
	var got []uint64
	for {
		var m registry.Map
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		got = append(got, m.Index)
	}
	assert.Equal(t, []uint64{42, 43}, got)
}

func TestWatchServiceFilter(t *testing.T) {
	f, srv := newFakeHome(t, testMap())
	var stdout testenv.SyncBuffer
	w := testWatcher(srv.URL, mapFormatTable, &stdout, io.Discard)
	w.service, w.source.service = "billing", "billing"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- w.run(ctx) }()
	waitFor(t, "the map and a blocking query", func() bool {
		return strings.Contains(stdout.String(), "billing") && len(f.queries()) >= 2
	})
	cancel()
	require.NoError(t, <-done)
	assert.NotContains(t, stdout.String(), "news", "filtered here though the coordinator did not")
	assert.Equal(t, url.Values{"service": {"billing"}}, f.queries()[0])
	assert.Equal(t, url.Values{"service": {"billing"}, "index": {"42"}, "wait": {"1m"}}, f.queries()[1])
}

func TestMapHelp(t *testing.T) {
	app, stdout, _ := testApp(nil)
	require.NoError(t, app.Run([]string{"portolan", "map", "--help"}))
	out := stdout.String()
	for _, s := range []string{"--home", "--token", "--service", "--output", "-o", "--watch", "--timeout", "PORTOLAN_TOKEN"} {
		assert.Contains(t, out, s)
	}
}
