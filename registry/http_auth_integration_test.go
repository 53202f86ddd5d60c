package registry_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/coordinator"
	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/registry"
)

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
