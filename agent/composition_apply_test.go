package agent

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/registry"
)

// Heartbeats keep their pace while home is slow to apply the image's
// documents (a stalled store): the delivery never holds the home loop, and
// the instance stays within its TTL.
func TestSlowCompositionApplyDoesNotStopHeartbeats(t *testing.T) {
	var heartbeats, deliveries atomic.Int64
	stop := make(chan struct{})
	hang := func(r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /v1/instances/{id}", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(registry.RegisterReply{ID: r.PathValue("id"), Credential: "cred",
			Placement:         registry.Placement{Service: "news"},
			HeartbeatInterval: registry.Duration(100 * time.Millisecond), TTL: registry.Duration(time.Second)})
	})
	mux.HandleFunc("PUT /v1/instances/{id}/heartbeat", func(w http.ResponseWriter, r *http.Request) {
		heartbeats.Add(1)
		_, _ = w.Write([]byte("{}"))
	})
	mux.HandleFunc("PUT /v1/instances/{id}/composition", func(w http.ResponseWriter, r *http.Request) {
		deliveries.Add(1)
		hang(r) // home's store is stalled
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { hang(r) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	defer close(stop)

	docs := filepath.Join(t.TempDir(), "news.yaml")
	require.NoError(t, os.WriteFile(docs, []byte(strings.TrimSpace(`
apiVersion: portolan.dev/v1
kind: Service
system_name: news
name: News
version: 1
`)+"\n"), 0o644))
	dir := t.TempDir()
	a, err := New(context.Background(), Config{Command: []string{"sleep", "30"}, Home: srv.URL, Token: "agent-token", Service: "news",
		Composition: []string{docs}, Address: "127.0.0.1", Heartbeat: 100 * time.Millisecond, TTL: time.Second,
		API: "off", PlacementFile: filepath.Join(dir, "placement.json"), CacheDir: filepath.Join(dir, "cache"), Logger: zerolog.Nop()})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); a.phoneHome(ctx) }()

	time.Sleep(2 * time.Second) // two TTLs
	assert.GreaterOrEqual(t, heartbeats.Load(), int64(5), "heartbeats go on every 100ms while home applies the documents; a TTL of 1s without one turns the instance critical")
	assert.Positive(t, deliveries.Load(), "the documents were sent")
	select {
	case <-a.first:
		t.Error("CMD was released (--wait-home) before home answered the image's documents")
	default:
	}
	cancel()
	select {
	case <-done: // the delivery stopped with the home loop
	case <-time.After(5 * time.Second):
		t.Fatal("the home loop did not return within 5s of its context ending: the delivery was not stopped")
	}
}
