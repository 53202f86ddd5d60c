package registry_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

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
