package registry_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/coordinator"
	"github.com/portolan/portolan/internal/pki"
	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/registry"
)

// agentToken is the token testenv.StartCoordinator gives the coordinator.
const agentToken = "test-agent-token"

type answer struct {
	status int
	header http.Header
	body   string
}

func (a answer) json(t testing.TB, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal([]byte(a.body), v), a.body)
}

func (a answer) errorMessage(t testing.TB) string {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	require.NoError(t, json.Unmarshal([]byte(a.body), &e), "an error body is JSON: %s", a.body)
	return e.Error
}

// agentCall sends an agent API request; an empty token sends none.
func agentCall(t testing.TB, base, method, path, token, body string) answer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, base+path, rd)
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return answer{resp.StatusCode, resp.Header, string(b)}
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

func registration(service string) registry.Registration {
	return registry.Registration{Service: service, Address: "127.0.0.1", Port: 3000, AgentVersion: "test",
		Labels: map[string]string{"pool": "basic"}}
}

func register(t testing.TB, co *testenv.Coordinator, id string, reg registry.Registration) registry.RegisterReply {
	t.Helper()
	a := agentCall(t, co.URL, "PUT", "/v1/instances/"+id, agentToken, mustJSON(t, reg))
	require.Equal(t, http.StatusOK, a.status, a.body)
	var reply registry.RegisterReply
	a.json(t, &reply)
	return reply
}

func getMap(t testing.TB, co *testenv.Coordinator, query string) (registry.Map, answer) {
	t.Helper()
	a := agentCall(t, co.URL, "GET", "/v1/map"+query, co.Token, "") // the admin access token reads the map
	require.Equal(t, http.StatusOK, a.status, a.body)
	var m registry.Map
	a.json(t, &m)
	require.Equal(t, strconv.FormatUint(m.Index, 10), a.header.Get(registry.IndexHeader))
	return m, a
}

func findInstance(m registry.Map, id string) (registry.MapInstance, bool) {
	for _, s := range m.Services {
		for _, in := range s.Instances {
			if in.ID == id {
				return in, true
			}
		}
	}
	return registry.MapInstance{}, false
}

// createService writes through the 3scale Account Management API.
func createService(t testing.TB, co *testenv.Coordinator, name string) {
	t.Helper()
	req, err := http.NewRequest("POST", co.URL+"/admin/api/services.json", strings.NewReader("name="+name))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("", co.Token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(b))
}

func TestAgentAPILifecycle(t *testing.T) {
	co := testenv.StartCoordinator(t)
	createService(t, co, "news")

	reply := register(t, co, "news-host-1a2b", registration("news"))
	assert.Equal(t, "news-host-1a2b", reply.ID)
	assert.Equal(t, "news", reply.Placement.Service)
	assert.NotZero(t, reply.Placement.ServiceID)
	assert.Equal(t, co.Revision(t), reply.Revision)
	assert.Equal(t, registry.Duration(2*time.Second), reply.HeartbeatInterval)
	assert.Equal(t, registry.Duration(6*time.Second), reply.TTL)
	assert.Equal(t, registry.Duration(30*time.Second), reply.DeregisterCriticalAfter)

	m, _ := getMap(t, co, "")
	in, ok := findInstance(m, "news-host-1a2b")
	require.True(t, ok)
	assert.Equal(t, registry.StatusPassing, in.Status)
	assert.Equal(t, "127.0.0.1", in.Address)
	assert.Equal(t, 3000, in.Port)
	assert.Equal(t, "test", in.AgentVersion)

	cred := reply.Credential
	a := agentCall(t, co.URL, "PUT", "/v1/instances/news-host-1a2b/heartbeat", cred,
		`{"status":"warning","output":"slow","revision":1}`)
	require.Equal(t, http.StatusOK, a.status, a.body)
	var hb registry.HeartbeatReply
	a.json(t, &hb)
	assert.Equal(t, co.Revision(t), hb.Revision)
	assert.Nil(t, hb.Placement)
	m, _ = getMap(t, co, "?service=news")
	require.Len(t, m.Services, 1)
	in, _ = findInstance(m, "news-host-1a2b")
	assert.Equal(t, registry.StatusWarning, in.Status)
	assert.Equal(t, "slow", in.Output)

	a = agentCall(t, co.URL, "PUT", "/v1/instances/news-host-1a2b/drain", cred, "")
	require.Equal(t, http.StatusOK, a.status, a.body)
	m, _ = getMap(t, co, "")
	in, _ = findInstance(m, "news-host-1a2b")
	assert.Equal(t, registry.StatusDraining, in.Status)

	a = agentCall(t, co.URL, "DELETE", "/v1/instances/news-host-1a2b", cred, "")
	require.Equal(t, http.StatusOK, a.status, a.body)
	m, _ = getMap(t, co, "")
	_, ok = findInstance(m, "news-host-1a2b")
	assert.False(t, ok, "removed at once")

	for _, c := range []struct{ method, path, body string }{
		{"PUT", "/v1/instances/news-host-1a2b/heartbeat", `{"status":"passing"}`},
		{"PUT", "/v1/instances/news-host-1a2b/drain", ""},
		{"DELETE", "/v1/instances/news-host-1a2b", ""},
	} {
		a = agentCall(t, co.URL, c.method, c.path, cred, c.body)
		assert.Equal(t, http.StatusNotFound, a.status, "%s %s: %s", c.method, c.path, a.body)
		assert.Equal(t, "unknown instance: register again", a.errorMessage(t))
	}

	metrics := agentCall(t, co.URL, "GET", "/metrics", "", "").body
	assert.Contains(t, metrics, "portolan_registry_registrations_total 1")
	// The heartbeat after deregistration was answered 404 before the
	// registry: its credential went with the instance.
	assert.Contains(t, metrics, "portolan_registry_heartbeats_total 1")
	assert.Contains(t, metrics, `portolan_registry_instances{status="passing"} 0`)
	assert.Contains(t, metrics, "portolan_registry_deregistrations_total 1")
	assert.Contains(t, metrics, `portolan_http_requests_total{api="agents"`)

	assert.NotContains(t, co.Output.String(), agentToken, "tokens are never logged")
	assert.NotContains(t, co.Output.String(), cred, "credentials are never logged")
}

func TestAgentAPIBadInput(t *testing.T) {
	co := testenv.StartCoordinator(t)
	known := register(t, co, "known", registration("news")).Credential
	idx := func() uint64 { m, _ := getMap(t, co, ""); return m.Index }
	before := idx()

	good := mustJSON(t, registration("news"))
	huge := `{"service":"news","address":"127.0.0.1","output":"` + strings.Repeat("x", registry.MaxBodyBytes) + `"}`
	cases := []struct {
		name, path, body string
		status           int
		mentions         string
	}{
		{"register: malformed JSON", "/v1/instances/x", `{"service": "news"`, 400, "malformed JSON registration"},
		{"register: syntax error", "/v1/instances/x", `{"service": news}`, 400, "malformed JSON registration at byte"},
		{"register: empty body", "/v1/instances/x", ``, 400, "empty"},
		{"register: not an object", "/v1/instances/x", `["news"]`, 400, "must be a JSON object"},
		{"register: unknown field", "/v1/instances/x", `{"service":"news","address":"a","colour":"red"}`, 400, `unknown field "colour"`},
		{"register: wrong type", "/v1/instances/x", `{"service":"news","address":"a","port":"80"}`, 400, `field "port": expected an integer`},
		{"register: wrong label type", "/v1/instances/x", `{"service":"news","address":"a","labels":{"a":1}}`, 400, `"labels`},
		{"register: bad ttl", "/v1/instances/x", `{"service":"news","address":"a","ttl":"soon"}`, 400, "ttl"},
		{"register: trailing data", "/v1/instances/x", good + `{}`, 400, "after the JSON object"},
		{"register: bad id", "/v1/instances/a%20b", good, 400, "id "},
		{"register: long id", "/v1/instances/" + strings.Repeat("a", 129), good, 400, "id is too long"},
		{"register: no service", "/v1/instances/x", `{"address":"127.0.0.1"}`, 400, "service is required"},
		{"register: bad service", "/v1/instances/x", `{"service":"a b","address":"127.0.0.1"}`, 400, "service is not a valid system_name"},
		{"register: no address", "/v1/instances/x", `{"service":"news"}`, 400, "address is required"},
		{"register: bad address", "/v1/instances/x", `{"service":"news","address":"a b"}`, 400, "address must be"},
		{"register: bad port", "/v1/instances/x", `{"service":"news","address":"a","port":70000}`, 400, "port must be between 0 and 65535"},
		{"register: bad status", "/v1/instances/x", `{"service":"news","address":"a","status":"great"}`, 400, "status must be"},
		{"register: oversized", "/v1/instances/x", huge, 413, "65536"},
		{"heartbeat: malformed JSON", "/v1/instances/known/heartbeat", `{"status":`, 400, "malformed JSON heartbeat"},
		{"heartbeat: empty body", "/v1/instances/known/heartbeat", ``, 400, "empty"},
		{"heartbeat: unknown field", "/v1/instances/known/heartbeat", `{"status":"passing","state":"ok"}`, 400, `unknown field "state"`},
		{"heartbeat: wrong type", "/v1/instances/known/heartbeat", `{"status":"passing","revision":"7"}`, 400, `field "revision"`},
		{"heartbeat: missing status", "/v1/instances/known/heartbeat", `{"output":"x"}`, 400, "status is required"},
		{"heartbeat: bad status", "/v1/instances/known/heartbeat", `{"status":"draining"}`, 400, "status must be"},
		{"heartbeat: long output", "/v1/instances/known/heartbeat",
			`{"status":"passing","output":"` + strings.Repeat("x", registry.MaxOutputLen+1) + `"}`, 400, "output is too long"},
		{"heartbeat: oversized", "/v1/instances/known/heartbeat", `{"status":"passing","output":"` + strings.Repeat("x", 100<<10) + `"}`, 413, "65536"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tok := agentToken
			if strings.HasSuffix(c.path, "/heartbeat") {
				tok = known
			}
			a := agentCall(t, co.URL, "PUT", c.path, tok, c.body)
			assert.Equal(t, c.status, a.status, a.body)
			assert.Contains(t, a.header.Get("Content-Type"), "application/json")
			assert.Contains(t, a.errorMessage(t), c.mentions)
		})
	}
	for _, q := range []string{"?index=x", "?index=-1", "?wait=soon", "?wait=-5s"} {
		for _, p := range []string{"/v1/map", "/v1/composition"} {
			a := agentCall(t, co.URL, "GET", p+q, known, "")
			assert.Equal(t, http.StatusBadRequest, a.status, "%s%s: %s", p, q, a.body)
			assert.NotEmpty(t, a.errorMessage(t))
		}
	}
	assert.Equal(t, before, idx(), "nothing bad was registered")
}

func TestAgentAPIAuth(t *testing.T) {
	co := testenv.StartCoordinator(t)
	register(t, co, "known", registration("news"))
	routes := []struct{ method, path, body string }{
		{"PUT", "/v1/instances/x", mustJSON(t, registration("news"))},
		{"PUT", "/v1/instances/known/heartbeat", `{"status":"passing"}`},
		{"PUT", "/v1/instances/known/drain", ""},
		{"DELETE", "/v1/instances/known", ""},
		{"GET", "/v1/map", ""},
		{"GET", "/v1/composition", ""},
		{"GET", "/v1/no-such-route", ""},
	}
	for _, r := range routes {
		for _, auth := range []struct{ name, header string }{
			{"missing", ""},
			{"wrong", "Bearer wrong-token"},
			{"prefix of the right one", "Bearer " + agentToken[:len(agentToken)-1]},
			{"right one plus more", "Bearer " + agentToken + "x"},
			{"Basic", "Basic " + agentToken},
			{"empty bearer", "Bearer "},
		} {
			req, err := http.NewRequest(r.method, co.URL+r.path, strings.NewReader(r.body))
			require.NoError(t, err)
			if auth.header != "" {
				req.Header.Set("Authorization", auth.header)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "%s %s with %s token: %s", r.method, r.path, auth.name, b)
			assert.True(t, strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer"), resp.Header.Get("WWW-Authenticate"))
			var e struct{ Error string }
			require.NoError(t, json.Unmarshal(b, &e), string(b))
			assert.Contains(t, e.Error, "token")
		}
	}
	// The admin access token reads the map, and does nothing else here.
	for _, r := range routes[:len(routes)-1] {
		a := agentCall(t, co.URL, r.method, r.path, co.Token, r.body)
		want := http.StatusForbidden
		if r.path == "/v1/map" {
			want = http.StatusOK
		}
		assert.Equal(t, want, a.status, "%s %s with the admin token: %s", r.method, r.path, a.body)
	}
	// Nothing got through.
	m, _ := getMap(t, co, "")
	in, ok := findInstance(m, "known")
	require.True(t, ok)
	assert.Equal(t, registry.StatusPassing, in.Status)
	_, ok = findInstance(m, "x")
	assert.False(t, ok)
	// The scheme is case-insensitive.
	req, _ := http.NewRequest("GET", co.URL+"/v1/map", nil)
	req.Header.Set("Authorization", "bearer "+co.Token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.NotContains(t, co.Output.String(), agentToken)
}

func TestAgentAPIWithoutAgentToken(t *testing.T) {
	var logs testenv.SyncBuffer
	co, err := coordinator.New(coordinator.Config{
		Listen: "127.0.0.1:0", DataDir: t.TempDir(), AccessToken: "admin-secret",
		Logger: zerolog.New(&logs),
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- co.Run(ctx) }()
	stopped := false
	defer func() {
		if !stopped {
			cancel()
			<-done
		}
	}()
	base := "http://" + co.Addr()
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/metrics")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	}, 5*time.Second, 10*time.Millisecond)

	// Without a bootstrap token, a bare token registers nothing and reads
	// nothing; on an id home does not know, a token it does not know hears
	// "register again" (as an agent does after home restarted).
	for _, tok := range []string{"", agentToken, "anything"} {
		for _, r := range []struct{ method, path string }{
			{"PUT", "/v1/instances/x"}, {"PUT", "/v1/instances/x/heartbeat"}, {"PUT", "/v1/instances/x/drain"},
			{"DELETE", "/v1/instances/x"}, {"GET", "/v1/map"}, {"GET", "/v1/composition"},
		} {
			a := agentCall(t, base, r.method, r.path, tok, `{"status":"passing"}`)
			want := http.StatusUnauthorized
			if tok != "" && r.path != "/v1/instances/x" && strings.HasPrefix(r.path, "/v1/instances/") ||
				tok != "" && r.method == "DELETE" {
				want = http.StatusNotFound
			}
			assert.Equal(t, want, a.status, "%s %s: %s", r.method, r.path, a.body)
			if want == http.StatusUnauthorized {
				assert.Contains(t, a.header.Get("WWW-Authenticate"), "Bearer")
			}
		}
	}
	cancel()
	stopped = true
	require.NoError(t, <-done)
	out := logs.String()
	assert.Equal(t, 1, strings.Count(out, "no bootstrap agent token"), out)
	assert.NotContains(t, out, "admin-secret")
}

func TestBlockingMap(t *testing.T) {
	co := testenv.StartCoordinator(t)
	m, _ := getMap(t, co, "")
	idx := m.Index

	// Quiet: times out with the same index.
	start := time.Now()
	m2, _ := getMap(t, co, fmt.Sprintf("?index=%d&wait=300ms", idx))
	elapsed := time.Since(start)
	assert.Equal(t, idx, m2.Index)
	assert.GreaterOrEqual(t, elapsed, 300*time.Millisecond)
	assert.Less(t, elapsed, 2*time.Second)

	// A registration wakes it.
	got := make(chan registry.Map, 1)
	go func() {
		m, _ := getMap(t, co, fmt.Sprintf("?index=%d&wait=20s", idx))
		got <- m
	}()
	time.Sleep(100 * time.Millisecond)
	select {
	case <-got:
		t.Fatal("the blocking query answered before any change")
	default:
	}
	start = time.Now()
	wake := register(t, co, "wake-1", registration("news")).Credential
	select {
	case m := <-got:
		assert.Greater(t, m.Index, idx)
		_, ok := findInstance(m, "wake-1")
		assert.True(t, ok)
		assert.Less(t, time.Since(start), 2*time.Second)
	case <-time.After(10 * time.Second):
		t.Fatal("the blocking query did not return on a registration")
	}

	// Without index, with an older one, or with one from before a restart
	// (above the current), it answers at once.
	cur, _ := getMap(t, co, "")
	for _, q := range []string{"", "?index=0&wait=10s", fmt.Sprintf("?index=%d&wait=10s", cur.Index-1),
		fmt.Sprintf("?index=%d&wait=10s", cur.Index+1000)} {
		start := time.Now()
		m, _ := getMap(t, co, q)
		assert.Equal(t, cur.Index, m.Index, q)
		assert.Less(t, time.Since(start), time.Second, q)
	}

	// A heartbeat that changes nothing does not wake watchers.
	go func() {
		m, _ := getMap(t, co, fmt.Sprintf("?index=%d&wait=500ms", cur.Index))
		got <- m
	}()
	time.Sleep(50 * time.Millisecond)
	a := agentCall(t, co.URL, "PUT", "/v1/instances/wake-1/heartbeat", wake, `{"status":"passing"}`)
	require.Equal(t, http.StatusOK, a.status, a.body)
	m = <-got
	assert.Equal(t, cur.Index, m.Index)
}

// viewOf opens the signed view an answer of GET /v1/composition carries.
func viewOf(t *testing.T, a answer, key string) composition.Document {
	t.Helper()
	pub, err := pki.ParsePublicKey(key)
	require.NoError(t, err)
	v, err := registry.OpenView(pub, []byte(a.body))
	require.NoError(t, err)
	var doc composition.Document
	require.NoError(t, json.Unmarshal(v.Document, &doc))
	return doc
}

func TestBlockingCompositionUntilAWrite(t *testing.T) {
	co := testenv.StartCoordinator(t)
	createService(t, co, "first")
	rev := co.Revision(t)
	reply := register(t, co, "first-1", registration("first"))
	cred, key := reply.Credential, reply.SigningKey
	require.NotEmpty(t, key, "registration hands out home's signing key")

	a := agentCall(t, co.URL, "GET", "/v1/composition", agentToken, "")
	require.Equal(t, http.StatusForbidden, a.status, "the join token does not read compositions: %s", a.body)
	other := register(t, co, "first-2", registration("first")).Credential
	a = agentCall(t, co.URL, "GET", "/v1/composition?instance=first-1", other, "")
	require.Equal(t, http.StatusForbidden, a.status, "an instance reads its own view only: %s", a.body)
	a = agentCall(t, co.URL, "GET", "/v1/composition", cred, "")
	require.Equal(t, http.StatusOK, a.status, a.body)
	assert.Equal(t, strconv.FormatUint(rev, 10), a.header.Get(registry.IndexHeader))
	assert.Equal(t, "no-store", a.header.Get("Cache-Control"))
	doc := viewOf(t, a, key)
	assert.Equal(t, rev, doc.Revision)
	assert.False(t, doc.Secrets, "agents get a view without secrets")
	require.Len(t, doc.Services, 1)

	// Quiet: times out with the same revision.
	start := time.Now()
	a = agentCall(t, co.URL, "GET", fmt.Sprintf("/v1/composition?index=%d&wait=300ms", rev), cred, "")
	require.Equal(t, http.StatusOK, a.status)
	assert.Equal(t, strconv.FormatUint(rev, 10), a.header.Get(registry.IndexHeader))
	assert.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond)

	got := make(chan answer, 1)
	go func() {
		got <- agentCall(t, co.URL, "GET", fmt.Sprintf("/v1/composition?index=%d&wait=20s", rev), cred, "")
	}()
	time.Sleep(100 * time.Millisecond)
	select {
	case <-got:
		t.Fatal("answered before any write")
	default:
	}
	createService(t, co, "second")
	select {
	case a := <-got:
		require.Equal(t, http.StatusOK, a.status, a.body)
		doc := viewOf(t, a, key)
		assert.Greater(t, doc.Revision, rev)
		assert.Equal(t, strconv.FormatUint(doc.Revision, 10), a.header.Get(registry.IndexHeader))
		assert.Len(t, doc.Services, 1, "the view holds the instance's service only")
	case <-time.After(10 * time.Second):
		t.Fatal("the blocking composition query did not return on a write")
	}
}

func TestCoordinatorReapsWithShortTimings(t *testing.T) {
	co := testenv.StartCoordinator(t, "--heartbeat", "200ms", "--ttl", "1s", "--deregister-critical-after", "1s")
	reply := register(t, co, "silent", registration("news"))
	assert.Equal(t, registry.Duration(time.Second), reply.TTL)
	assert.Equal(t, registry.Duration(200*time.Millisecond), reply.HeartbeatInterval)
	assert.Equal(t, registry.Duration(time.Second), reply.DeregisterCriticalAfter)
	start := time.Now()
	status := func() string {
		m, _ := getMap(t, co, "")
		in, ok := findInstance(m, "silent")
		if !ok {
			return "absent"
		}
		return in.Status
	}
	require.Eventually(t, func() bool { return status() == registry.StatusCritical }, 3*time.Second, 20*time.Millisecond)
	assert.Less(t, time.Since(start), 1500*time.Millisecond)
	m, _ := getMap(t, co, "")
	in, _ := findInstance(m, "silent")
	assert.Equal(t, registry.OutputTTLExpired, in.Output)
	require.Eventually(t, func() bool { return status() == "absent" }, 3*time.Second, 20*time.Millisecond)
	assert.Less(t, time.Since(start), 2500*time.Millisecond)
}

func TestCoordinatorRefusesDeregisterCriticalAfterBelowOneSecond(t *testing.T) {
	cmd := exec.Command(testenv.Binary(t), "coordinator", "--listen", testenv.FreeAddr(t), "--data-dir", t.TempDir(),
		"--access-token", "x", "--agent-token", "y", "--deregister-critical-after", "500ms")
	out, err := cmd.CombinedOutput()
	require.Error(t, err, string(out))
	assert.Contains(t, string(out), "deregister-critical-after must be at least 1s")
}

func TestShutdownAnswersBlockingQueries(t *testing.T) {
	co, err := coordinator.New(coordinator.Config{
		Listen: "127.0.0.1:0", DataDir: t.TempDir(), AccessToken: "admin", AgentToken: agentToken, Logger: zerolog.Nop(),
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- co.Run(ctx) }()
	base := "http://" + co.Addr()
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/metrics")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	}, 5*time.Second, 10*time.Millisecond)

	reply := agentCall(t, base, "PUT", "/v1/instances/waiter", agentToken, mustJSON(t, registration("news")))
	require.Equal(t, http.StatusOK, reply.status, reply.body)
	var reg registry.RegisterReply
	reply.json(t, &reg)
	idx := co.Instances().Index()
	answers := make(chan answer, 2)
	go func() {
		answers <- agentCall(t, base, "GET", fmt.Sprintf("/v1/map?index=%d&wait=5m", idx), reg.Credential, "")
	}()
	go func() { answers <- agentCall(t, base, "GET", "/v1/composition?index=0&wait=5m", reg.Credential, "") }()
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(8 * time.Second):
		t.Fatal("the coordinator did not stop while blocking queries were pending")
	}
	assert.Less(t, time.Since(start), 3*time.Second)
	for range 2 {
		a := <-answers
		assert.Equal(t, http.StatusOK, a.status, a.body)
	}
}
