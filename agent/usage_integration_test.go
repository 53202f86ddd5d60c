package agent_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// tcpRelay forwards connections to a target until it is cut: then it drops
// every open connection and refuses new ones, until it is healed.
type tcpRelay struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cut    bool
	conns  map[net.Conn]struct{}
}

func startRelay(t *testing.T, target string) *tcpRelay {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	r := &tcpRelay{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	t.Cleanup(func() { ln.Close(); r.setCut(true) })
	go r.serve()
	return r
}

func (r *tcpRelay) URL() string { return "http://" + r.ln.Addr().String() }

func (r *tcpRelay) serve() {
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		go r.pipe(c)
	}
}

func (r *tcpRelay) pipe(c net.Conn) {
	up, err := net.Dial("tcp", r.target)
	if err != nil {
		c.Close()
		return
	}
	r.mu.Lock()
	if r.cut {
		r.mu.Unlock()
		c.Close()
		up.Close()
		return
	}
	r.conns[c], r.conns[up] = struct{}{}, struct{}{}
	r.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	<-done
	c.Close()
	up.Close()
	r.mu.Lock()
	delete(r.conns, c)
	delete(r.conns, up)
	r.mu.Unlock()
}

func (r *tcpRelay) setCut(cut bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cut = cut
	if cut {
		for c := range r.conns {
			c.Close()
		}
	}
}

// traffic calls a URL in a loop and counts the answers of 200.
type traffic struct {
	ok, other atomic.Int64
	stop      chan struct{}
	done      chan struct{}
}

func startTraffic(url string) *traffic {
	tr := &traffic{stop: make(chan struct{}), done: make(chan struct{})}
	client := &http.Client{Timeout: 5 * time.Second}
	go func() {
		defer close(tr.done)
		for {
			select {
			case <-tr.stop:
				return
			case <-time.After(time.Millisecond):
			}
			resp, err := client.Get(url)
			if err != nil {
				tr.other.Add(1)
				continue
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				tr.ok.Add(1)
			} else {
				tr.other.Add(1)
			}
		}
	}()
	return tr
}

// Stop ends the loop after its request in flight, if any, has its answer.
func (tr *traffic) Stop() int64 {
	close(tr.stop)
	<-tr.done
	return tr.ok.Load()
}

// usageService makes a service with a mapping rule counting every GET to
// hits, a plan with a limit of hits (e.g. "period=day&value=1000000000"), and
// an application on it.
func usageService(t *testing.T, co *testenv.Coordinator, systemName, limit string) (appID int64, userKey string) {
	t.Helper()
	sid, hits := countedService(t, co, "Usage", systemName)
	var plan struct {
		Plan struct{ ID int64 } `json:"application_plan"`
	}
	adminCall(t, co, "POST", fmt.Sprintf("/admin/api/services/%d/application_plans.json", sid), "name=Big", &plan)
	adminCall(t, co, "POST", fmt.Sprintf("/admin/api/application_plans/%d/metrics/%d/limits.json", plan.Plan.ID, hits),
		limit, nil)
	var signup struct {
		Account struct{ ID int64 } `json:"account"`
	}
	adminCall(t, co, "POST", "/admin/api/signup.json",
		fmt.Sprintf("org_name=Acme&username=alice&email=alice@example.com&password=s3cret-pass&application_plan_id=%d", plan.Plan.ID), &signup)
	var apps struct {
		Applications []struct {
			App struct {
				ID      int64
				UserKey string `json:"user_key"`
			} `json:"application"`
		} `json:"applications"`
	}
	adminCall(t, co, "GET", fmt.Sprintf("/admin/api/accounts/%d/applications.json", signup.Account.ID), "", &apps)
	require.Len(t, apps.Applications, 1)
	return apps.Applications[0].App.ID, apps.Applications[0].App.UserKey
}

// homeHits reads home's all-time hits of an application from the Analytics API.
func homeHits(t *testing.T, co *testenv.Coordinator, app int64) int64 {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("%s/stats/applications/%d/usage.json?metric_name=hits&period=eternity&access_token=%s", co.URL, app, co.Token))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", b)
	var u struct {
		Total *int64 `json:"total"`
	}
	require.NoError(t, json.Unmarshal(b, &u), "%s", b)
	require.NotNil(t, u.Total, "%s", b)
	return *u.Total
}

// Usage is never lost and never counted twice: while traffic flows through
// two gateways, one agent is killed with SIGKILL (and restarted on the same
// cache dir) and the other is cut off from home (and healed); in the end
// home's count equals exactly the number of requests answered 200, plus one
// request the app was serving when its agent was killed: it was admitted
// (its usage journaled) before it was forwarded, and only its answer was lost.
func TestUsageExactlyOnceThroughKill9AndPartition(t *testing.T) {
	co := testenv.StartCoordinator(t)
	app, key := usageService(t, co, "usageapi", "period=day&value=1000000000")
	held := make(chan struct{}, 1)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" { // the app is busy with it when its agent is killed
			held <- struct{}{}
			<-r.Context().Done()
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(upstream.Close)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(upstream.URL, "http://"))
	relay := startRelay(t, co.Addr)

	gwA, gwB := testenv.FreeAddr(t), testenv.FreeAddr(t)
	agentArgs := func(gw, interval string, extra ...string) []string {
		return append(append([]string{"--service", "usageapi", "--address", "127.0.0.1", "--port", port,
			"--gateway-listen", gw, "--upstream", upstream.URL, "--report-interval", interval,
			"--heartbeat", "300ms", "--ttl", "2s"}, extra...), "--", "sleep", "600")
	}
	// A reports every second, so a kill finds up to a second of usage in its journal only.
	a := testenv.StartAgent(t, co, agentArgs(gwA, "1s")...)
	b := testenv.StartAgentAt(t, relay.URL(), agentArgs(gwB, "200ms")...)
	urlA, urlB := "http://"+gwA+"/items?user_key="+key, "http://"+gwB+"/items?user_key="+key
	ready := func(url string) {
		require.Eventually(t, func() bool { return get(t, url).status == http.StatusOK }, 15*time.Second, 20*time.Millisecond, "gateway %s serving", url)
	}
	ready(urlA)
	ready(urlB)
	served := int64(2) // the two readiness answers

	trA, trB := startTraffic(urlA), startTraffic(urlB)
	time.Sleep(time.Second)
	relay.setCut(true) // B is cut off from home and keeps serving
	time.Sleep(time.Second)

	served += trA.Stop()
	go get(t, "http://"+gwA+"/hold?user_key="+key)
	<-held
	a.Kill9()
	inFlight := int64(1) // admitted and served by the app, its answer lost with the agent
	dirA := a.CacheDir
	journaled := 0 // bytes of records (after the header line) in A's journals
	journals, _ := filepath.Glob(filepath.Join(dirA, "usage", "*.journal"))
	for _, j := range journals {
		b, err := os.ReadFile(j)
		require.NoError(t, err)
		journaled += len(b) - bytes.IndexByte(b, '\n') - 1
	}
	require.Positive(t, journaled, "the kill found usage in the open batch's journal only")
	testenv.StartAgent(t, co, agentArgs(gwA, "1s", "--cache-dir", dirA)...) // A again, on the same cache dir
	ready(urlA)
	served++
	trA = startTraffic(urlA)
	time.Sleep(time.Second)
	spooled, _ := filepath.Glob(filepath.Join(b.CacheDir, "usage", "*.batch.json"))
	assert.NotEmpty(t, spooled, "B spools its batches while home is out of reach")
	relay.setCut(false)
	time.Sleep(time.Second)
	served += trA.Stop() + trB.Stop()
	t.Logf("served %d (A's traffic: %d other answers, B's: %d)", served, trA.other.Load(), trB.other.Load())
	require.Greater(t, served, int64(100))

	require.Eventually(t, func() bool { return homeHits(t, co, app) >= served+inFlight }, 20*time.Second, 100*time.Millisecond)
	time.Sleep(1500 * time.Millisecond) // a few more report intervals: nothing more arrives
	assert.Equal(t, served+inFlight, homeHits(t, co, app),
		"home counted every request answered 200, and the one in flight at the kill, once")
	for _, dir := range []string{dirA, b.CacheDir} {
		left, _ := filepath.Glob(filepath.Join(dir, "usage", "*.json"))
		assert.Empty(t, left, "every batch acknowledged and removed")
	}
}

// Two agents serving one service share an application's limit: each learns
// the other's usage from home within a report interval and a round trip, so
// requests further apart than that are never admitted beyond the limit, on
// either agent.
func TestUsageLimitSharedAcrossAgents(t *testing.T) {
	co := testenv.StartCoordinator(t)
	_, key := usageService(t, co, "sharedapi", "period=minute&value=5")
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }))
	t.Cleanup(upstream.Close)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(upstream.URL, "http://"))
	var urls []string
	for range 2 {
		gw := testenv.FreeAddr(t)
		testenv.StartAgent(t, co, "--service", "sharedapi", "--address", "127.0.0.1", "--port", port,
			"--gateway-listen", gw, "--upstream", upstream.URL, "--report-interval", "100ms", "--", "sleep", "120")
		urls = append(urls, "http://"+gw+"/items?user_key="+key)
	}
	for _, u := range urls { // serving once the composition is in: 403 for a missing key
		require.Eventually(t, func() bool { return get(t, strings.Split(u, "?")[0]).status == http.StatusForbidden },
			15*time.Second, 20*time.Millisecond)
	}
	// Stay within one minute: the limit is per calendar minute.
	if s := time.Now().Second(); s > 45 {
		time.Sleep(time.Duration(61-s) * time.Second)
	}
	var statuses []int
	for i := range 10 {
		statuses = append(statuses, get(t, urls[i%2]).status)
		time.Sleep(500 * time.Millisecond) // > report interval + round trip
	}
	assert.Equal(t, []int{200, 200, 200, 200, 200, 429, 429, 429, 429, 429}, statuses,
		"alternating between the agents, five requests pass cluster-wide, then both refuse")
}

// A gateway that starts while the limit is already used up elsewhere learns
// home's totals as soon as it is placed, not one report interval later: its
// first request is refused although its interval here is an hour.
func TestFreshAgentLearnsTotalsWhenPlaced(t *testing.T) {
	co := testenv.StartCoordinator(t)
	_, key := usageService(t, co, "freshapi", "period=minute&value=5")
	if s := time.Now().Second(); s > 40 { // the limit is per calendar minute
		time.Sleep(time.Duration(61-s) * time.Second)
	}
	authrep := co.URL + "/transactions/authrep.xml?provider_key=" + co.Token + "&user_key=" + key + "&usage%5Bhits%5D=1"
	for i := range 5 {
		require.Equal(t, http.StatusOK, get(t, authrep).status, "authrep %d uses the quota at home", i+1)
	}
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }))
	t.Cleanup(upstream.Close)
	gw := testenv.FreeAddr(t)
	testenv.StartAgent(t, co, "--service", "freshapi", "--address", "127.0.0.1", "--port", "1",
		"--gateway-listen", gw, "--upstream", upstream.URL, "--report-interval", "1h", "--", "sleep", "120")
	require.Eventually(t, func() bool { return get(t, "http://"+gw+"/items").status == http.StatusForbidden },
		15*time.Second, 20*time.Millisecond, "serving")
	time.Sleep(500 * time.Millisecond) // a poll's round trip on loopback, with room to spare
	assert.Equal(t, http.StatusTooManyRequests, get(t, "http://"+gw+"/items?user_key="+key).status,
		"the very first request is refused: home's totals were learnt at placement")
}
