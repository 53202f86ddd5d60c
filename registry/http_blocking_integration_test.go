package registry_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
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
