package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
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
	assert.Equal(t, url.Values{"delta": {"1"}}, q[0], "the first query answers at once")
	assert.Equal(t, url.Values{"delta": {"1"}, "index": {"42"}, "wait": {"5m"}}, q[1], "the second query blocks on the first map's index")
	assert.Equal(t, url.Values{"delta": {"1"}, "index": {"43"}, "wait": {"5m"}}, q[2])

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
		want:        wantMap,
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
		{"delta": {"1"}},
		{"delta": {"1"}, "index": {"10"}, "wait": {"1m"}},
		{"delta": {"1"}, "index": {"10"}, "wait": {"1m"}}, // retried after the error
		{"delta": {"1"}}, // index went backwards: reset
		{"delta": {"1"}, "index": {"3"}, "wait": {"1m"}},
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
	assert.Contains(t, stderr.String(), "home at http://"+addr+" is unreachable: connection refused")
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
	w.query.Service = "billing"
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
	assert.Equal(t, url.Values{"service": {"billing"}, "delta": {"1"}}, f.queries()[0])
	assert.Equal(t, url.Values{"service": {"billing"}, "delta": {"1"}, "index": {"42"}, "wait": {"1m"}}, f.queries()[1])
}
