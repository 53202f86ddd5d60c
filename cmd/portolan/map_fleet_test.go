package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/client"
)

// fleetSize is more than `portolan map` lists by default.
const fleetSize = 300

// startFleet starts a real coordinator and registers fleetSize instances
// through its agent API: services news (two in three) and billing, every
// fifth warning, label zone=a or zone=b by parity.
func startFleet(t *testing.T) *testenv.Coordinator {
	t.Helper()
	co := testenv.StartCoordinator(t)
	home := co.Home(t)
	for i := range fleetSize {
		reg := &registry.Registration{Service: fleetServiceOf(i), Address: "10.1.0.1", Port: 8000 + i,
			Labels: map[string]string{"zone": []string{"a", "b"}[i%2]}}
		if i%5 == 0 {
			reg.Status = registry.StatusWarning
		}
		_, err := home.Register(t.Context(), fmt.Sprintf("fleet-%04d", i), reg)
		require.NoError(t, err)
	}
	return co
}

func fleetServiceOf(i int) string {
	if i%3 == 0 {
		return "billing"
	}
	return "news"
}

// TestMapFleetSummaryFiltersPages: against a real coordinator with 300
// instances, map counts by default, filters at home, and pages through
// every instance once.
func TestMapFleetSummaryFiltersPages(t *testing.T) {
	co := startFleet(t)
	args := func(more ...string) []string { return append([]string{"--home", co.URL, "--token", co.Token}, more...) }

	code, out, errOut := runMapCmd(t, args()...)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, errOut, "300 instances, counted; --instances lists them all")
	assert.Regexp(t, `(?m)^news\s+\*\s+200\s+160\s+40\s+0\s+0$`, out)
	assert.Regexp(t, `(?m)^billing\s+\*\s+100\s+80\s+20\s+0\s+0$`, out)
	assert.Regexp(t, `(?m)^TOTAL\s+300\s+240\s+60\s+0\s+0$`, out)
	assert.NotContains(t, out, "fleet-0001", "no instance listed")

	code, out, errOut = runMapCmd(t, args("--summary", "-o", "json", "--label", "zone=a")...)
	require.Equal(t, 0, code, errOut)
	var s registry.MapSummary
	require.NoError(t, json.Unmarshal([]byte(out), &s), out)
	assert.Equal(t, fleetSize/2, s.Instances)
	code, out, errOut = runMapCmd(t, args("--summary", "-o", "json", "--label", "zone")...)
	require.Equal(t, 0, code, errOut)
	require.NoError(t, json.Unmarshal([]byte(out), &s), out)
	assert.Equal(t, fleetSize, s.Instances, "a key alone keeps every instance carrying it")
	code, out, errOut = runMapCmd(t, args("--summary", "-o", "json", "--label", "zone", "--label", "rack")...)
	require.Equal(t, 0, code, errOut)
	require.NoError(t, json.Unmarshal([]byte(out), &s), out)
	assert.Zero(t, s.Instances, "none carries a rack")
	code, _, errOut = runMapCmd(t, args("--label", "=a")...)
	assert.NotEqual(t, 0, code)
	assert.Contains(t, errOut, "--label must be key=value or key")

	// A filter that narrows the map below the bound lists it.
	code, out, errOut = runMapCmd(t, args("--service", "news", "--status", "warning")...)
	require.Equal(t, 0, code, errOut)
	rows := strings.Split(strings.TrimSpace(out), "\n")
	assert.Len(t, rows, 1+40, "a header and news's warning instances:\n%s", out)
	for _, r := range rows[1:] {
		assert.Regexp(t, `^news\s+-\s+fleet-\d{4}\s+10\.1\.0\.1:\d+\s+warning\s`, r)
	}

	// Pages of 70 walk every instance once.
	seen, cursor, pages := map[string]int{}, "", 0
	for {
		more := []string{"-o", "json", "--limit", "70"}
		if cursor != "" {
			more = append(more, "--cursor", cursor)
		}
		code, out, errOut = runMapCmd(t, args(more...)...)
		require.Equal(t, 0, code, errOut)
		var m registry.Map
		require.NoError(t, json.Unmarshal([]byte(out), &m))
		assert.Equal(t, fleetSize, m.Matched)
		for _, svc := range m.Services {
			for _, in := range svc.Instances {
				seen[in.ID]++
			}
		}
		pages++
		if cursor = m.Next; cursor == "" {
			break
		}
	}
	assert.Equal(t, 5, pages)
	require.Len(t, seen, fleetSize)
	for id, n := range seen {
		assert.Equal(t, 1, n, id)
	}

	// The table's page says where the next begins.
	code, _, errOut = runMapCmd(t, args("--limit", "10")...)
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "portolan map: 300 instances match; next page: --cursor fleet-0009\n", errOut)
}

// TestMapFleetWatcherGetsDeltas: a watcher that is current receives only
// the instance that changed, in a few hundred bytes, and the CLI's watcher
// applies it to the map it holds.
func TestMapFleetWatcherGetsDeltas(t *testing.T) {
	co := startFleet(t)
	admin, err := client.New(client.Config{Address: co.URL, Token: co.Token})
	require.NoError(t, err)
	ctx := t.Context()

	full, err := admin.MapQuery(ctx, registry.PathMap, registry.MapQuery{Delta: true}, 0, 0)
	require.NoError(t, err)
	require.NotNil(t, full.Delta.Full, "a watcher starts from the whole map")
	assert.False(t, full.Local)

	var out testenv.SyncBuffer
	w := testWatcher(co.URL, mapFormatJSON, &out, io.Discard)
	w.source.client = admin
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- w.run(wctx) }()
	waitFor(t, "the watcher's first map", func() bool { return strings.Count(out.String(), `"index"`) >= 1 })

	// One instance changes: its own client (its credential) heartbeats.
	mover, err := client.New(client.Config{Address: co.URL, Token: testenv.AgentToken})
	require.NoError(t, err)
	_, err = mover.Register(ctx, "fleet-mover", &registry.Registration{Service: "news", Address: "10.1.0.2", Port: 9000})
	require.NoError(t, err)
	_, err = mover.Heartbeat(ctx, "fleet-mover", &registry.Heartbeat{Status: registry.StatusCritical})
	require.NoError(t, err)

	body := rawMap(t, co, fmt.Sprintf("?delta=1&index=%d", full.Index))
	var d registry.MapDelta
	require.NoError(t, json.Unmarshal(body, &d))
	require.Nil(t, d.Full)
	require.Len(t, d.Changed, 1)
	assert.Equal(t, "fleet-mover", d.Changed[0].Instance.ID)
	assert.Equal(t, registry.StatusCritical, d.Changed[0].Instance.Status)
	whole := rawMap(t, co, "")
	assert.Less(t, len(body), 1024, "a delta is small: %s", body)
	assert.Greater(t, len(whole), 50*len(body), "the whole map is not sent again")

	// The CLI's watcher drew the change on the map it holds.
	var last registry.Map
	waitFor(t, "the watcher's drawing with the change", func() bool {
		docs := json.NewDecoder(strings.NewReader(out.String()))
		for docs.More() {
			if docs.Decode(&last) != nil {
				return false
			}
		}
		in, ok := testenv.FindInstance(&last, "fleet-mover")
		return ok && in.Status == registry.StatusCritical
	})
	cancel()
	require.NoError(t, <-done)
	assert.Equal(t, fleetSize+1, len(idsOn(&last)), "the held map has the fleet and the newcomer")
}

// TestMapFleetViaAgentFallsBack: an agent's /v1/agent/map answers the
// whole map; map --via counts, filters and pages it here.
func TestMapFleetViaAgentFallsBack(t *testing.T) {
	co := startFleet(t)
	a := testenv.StartAgent(t, co, "--service", "news", "--address", "127.0.0.1", "--port", "4000", "--", "sleep", "60")
	id := a.ID()
	waitFor(t, "the agent's map with the fleet", func() bool {
		code, out, _ := runMapCmd(t, "--via", a.API, "--summary", "-o", "json")
		var s registry.MapSummary
		return code == 0 && json.Unmarshal([]byte(out), &s) == nil && s.Instances == fleetSize+1
	})
	code, out, errOut := runMapCmd(t, "--via", a.API)
	require.Equal(t, 0, code, errOut)
	assert.Regexp(t, `(?m)^TOTAL\s+`, out, "a large map is counted, here")

	code, out, errOut = runMapCmd(t, "--via", a.API, "-o", "json", "--service", "news", "--label", "zone=b", "--limit", "30")
	require.Equal(t, 0, code, errOut)
	var m registry.Map
	require.NoError(t, json.Unmarshal([]byte(out), &m))
	got := idsOn(&m)
	assert.Len(t, got, 30)
	assert.NotEmpty(t, m.Next)
	for _, id := range got {
		var n int
		_, err := fmt.Sscanf(id, "fleet-%d", &n)
		require.NoError(t, err)
		assert.Equal(t, "news", fleetServiceOf(n))
		assert.Equal(t, 1, n%2, "zone=b")
	}
	assert.NotContains(t, got, id)
}

// rawMap GETs home's map with the admin token and returns the body.
func rawMap(t *testing.T, co *testenv.Coordinator, query string) []byte {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, co.URL+registry.PathMap+query, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+co.Token)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return b
}

func idsOn(m *registry.Map) []string {
	var out []string
	for _, s := range m.Services {
		for _, in := range s.Instances {
			out = append(out, in.ID)
		}
	}
	return out
}
