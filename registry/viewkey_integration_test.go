package registry_test

import (
	"encoding/base64"
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
)

// adminJSON sends a JSON body to the coordinator's admin API and decodes
// the answer into out, requiring want.
func adminJSON(t *testing.T, co *testenv.Coordinator, method, path, body string, want int, out any) {
	t.Helper()
	req, err := http.NewRequest(method, co.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth("", co.Token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, want, resp.StatusCode, string(b))
	if out != nil {
		require.NoError(t, json.Unmarshal(b, out))
	}
}

// Home hands each instance, at registration, the key its service's agents
// seal their view with on gossip: the same for every instance of a service
// and across home's restarts (so they converge while home is away), another
// for another service; a new placement brings the new service's key with it.
func TestViewKeyPerServiceAtRegistrationAndPlacement(t *testing.T) {
	co := testenv.StartCoordinator(t)
	var news struct {
		Service struct{ ID int64 } `json:"service"`
	}
	adminJSON(t, co, "POST", "/admin/api/services.json", `{"name":"News","system_name":"news"}`, http.StatusCreated, &news)
	createService(t, co, "weather")

	keyOf := func(r registry.RegisterReply) string {
		t.Helper()
		b, err := base64.StdEncoding.DecodeString(r.ViewKey)
		require.NoError(t, err)
		require.Len(t, b, registry.ViewKeySize)
		return r.ViewKey
	}
	n1 := keyOf(register(t, co, "news-1", registration("news")))
	n2 := keyOf(register(t, co, "news-2", registration("news")))
	w1 := keyOf(register(t, co, "weather-1", registration("weather")))
	assert.Equal(t, n1, n2, "one key per service")
	assert.NotEqual(t, n1, w1, "another service, another key")

	// Placed nowhere yet: its own (registered) service's key.
	premium := registration("newsapi")
	premium.Labels = map[string]string{"pool": "premium"}
	reply := register(t, co, "newsapi-1", premium)
	api := keyOf(reply)
	assert.NotEqual(t, n1, api)
	cred := reply.Credential
	adminJSON(t, co, "POST", "/admin/portolan/placements",
		fmt.Sprintf(`{"name":"premium-pool","selector":{"service":"newsapi","labels":{"pool":"premium"}},"service_id":%d}`, news.Service.ID),
		http.StatusCreated, nil)
	var hb registry.HeartbeatReply
	require.Eventually(t, func() bool {
		a := agentCall(t, co.URL, "PUT", "/v1/instances/newsapi-1/heartbeat", cred, `{"status":"passing"}`)
		require.Equal(t, http.StatusOK, a.status, a.body)
		hb = registry.HeartbeatReply{}
		a.json(t, &hb)
		return hb.Placement != nil && hb.Placement.Service == "news"
	}, 5*time.Second, 50*time.Millisecond, "the heartbeat brings the new placement")
	assert.Equal(t, n1, hb.ViewKey, "placed in news: news's key comes with the placement")
	a := agentCall(t, co.URL, "PUT", "/v1/instances/newsapi-1/heartbeat", cred, `{"status":"passing"}`)
	assert.NotContains(t, a.body, "view_key", "sent with a new placement only")

	co.Stop()
	co.Start()
	assert.Equal(t, n1, keyOf(register(t, co, "news-3", registration("news"))), "home keeps the key across restarts")
}
