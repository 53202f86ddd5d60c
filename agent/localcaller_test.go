package agent

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The local API refuses, 403 with a JSON error, the calls a web page makes
// through a browser (an Origin, a Sec-Fetch-Site other than none, a Host
// that a DNS-rebinding page would send); the agent's own clients, curl and
// peers, which call it by address, localhost or its listen host, are
// served, and /metrics is served to any scraper.
func TestLocalAPIRefusesBrowserCalls(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	a, err := New(context.Background(), Config{Command: []string{"true"}, Address: "127.0.0.1", API: ln.Addr().String(), Logger: zerolog.Nop()})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); a.serveAPI(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	base := "http://" + ln.Addr().String()

	call := func(path, host string, header map[string]string) (int, string) {
		req, err := http.NewRequest(http.MethodGet, base+path, nil)
		require.NoError(t, err)
		if host != "" {
			req.Host = host
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var body struct{ Error string }
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body.Error
	}
	for _, tc := range []struct {
		name, host string
		header     map[string]string
		want       int
	}{
		{"by address", "", nil, http.StatusOK},
		{"by localhost", "localhost:7071", nil, http.StatusOK},
		{"by IPv6 address", "[::1]:7071", nil, http.StatusOK},
		{"typed in the address bar", "", map[string]string{"Sec-Fetch-Site": "none"}, http.StatusOK},
		{"a rebound name", "attacker.example:7071", nil, http.StatusForbidden},
		{"with an Origin", "", map[string]string{"Origin": "http://attacker.example"}, http.StatusForbidden},
		{"cross-site fetch", "", map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
	} {
		code, msg := call("/v1/agent/self", tc.host, tc.header)
		assert.Equal(t, tc.want, code, tc.name)
		if tc.want == http.StatusForbidden {
			assert.Contains(t, msg, "refused", "%s: the error says why", tc.name)
		}
	}
	code, _ := call("/metrics", "prometheus-target.example:7071", nil)
	assert.Equal(t, http.StatusOK, code, "/metrics holds no secret and is scraped by any name")
}
