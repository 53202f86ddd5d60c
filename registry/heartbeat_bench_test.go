package registry

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

// BenchmarkHeartbeatHandler is one heartbeat through the agent API's
// handler, in process (no network), among 10,000 registered instances:
// authentication by credential, routing, decoding, the registry and the
// answer; its allocs/op are the heartbeat path's own.
func BenchmarkHeartbeatHandler(b *testing.B) {
	const n = 10_000
	// All through the bootstrap token: its cap is raised to hold them.
	r, err := New(Config{Store: newMemStore(), Logger: zerolog.Nop(), MaxInstancesPerToken: n})
	if err != nil {
		b.Fatal(err)
	}
	h := r.Handler(Access{BootstrapToken: "tok"})
	paths, creds := make([]string, n), make([]string, n)
	for i := range n {
		id := fmt.Sprintf("news-host%05d", i)
		req := httptest.NewRequest(http.MethodPut, "/v1/instances/"+id, strings.NewReader(`{"service":"news","address":"10.0.0.1","port":80}`))
		req.Header.Set("Authorization", "Bearer tok")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var reply RegisterReply
		if err := json.Unmarshal(rec.Body.Bytes(), &reply); err != nil || rec.Code != http.StatusOK {
			b.Fatalf("register: %d %s", rec.Code, rec.Body)
		}
		paths[i], creds[i] = "/v1/instances/"+id+PathHeartbeat, "Bearer "+reply.Credential
	}
	const body = `{"status":"passing","output":"HTTP GET http://127.0.0.1:3000/health: 200 OK","revision":1}`
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPut, paths[i], strings.NewReader(body))
		req.Header.Set("Authorization", creds[i])
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("heartbeat: %d %s", rec.Code, rec.Body)
		}
		i = (i + 7919) % n
	}
}
