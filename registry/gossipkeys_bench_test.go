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

// BenchmarkHeartbeatHandlerNamingGossipKeys is BenchmarkHeartbeatHandler
// with a gossip keyring at home and agents that name the version they
// hold, as current agents do: when nothing changed, it must cost what a
// heartbeat without the keyring costs (the same allocations per op).
func BenchmarkHeartbeatHandlerNamingGossipKeys(b *testing.B) {
	const n = 10_000
	k := &testKeyring{keys: []string{"k1"}, version: 1}
	r, err := New(Config{Store: newMemStore(), Logger: zerolog.Nop(), MaxInstancesPerToken: n, GossipKeys: k.current})
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
		if err := json.Unmarshal(rec.Body.Bytes(), &reply); err != nil || rec.Code != http.StatusOK || reply.GossipKeysVersion != 1 {
			b.Fatalf("register: %d %s", rec.Code, rec.Body)
		}
		paths[i], creds[i] = "/v1/instances/"+id+PathHeartbeat, "Bearer "+reply.Credential
	}
	const body = `{"status":"passing","output":"HTTP GET http://127.0.0.1:3000/health: 200 OK","revision":1,"gossip_keys_version":1}`
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPut, paths[i], strings.NewReader(body))
		req.Header.Set("Authorization", creds[i])
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), "gossip_keys") {
			b.Fatalf("heartbeat: %d %s", rec.Code, rec.Body)
		}
		i = (i + 7919) % n
	}
}
