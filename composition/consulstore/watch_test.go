package consulstore_test

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// After a failed blocking query the watch starts over from index 0, so a
// restarted Consul at a lower index answers it at once instead of holding
// it for the whole wait. A fake agent answers at 500, fails once, then
// records the index the next query waits on.
func TestWatchResetsItsIndexAfterAnError(t *testing.T) {
	var mu sync.Mutex
	var watchIndexes []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		switch {
		case r.URL.Path == "/v1/kv/"+prefix+"composition/" && q.Has("recurse"):
			w.Header().Set("X-Consul-Index", "500")
			w.WriteHeader(http.StatusNotFound)
		case r.URL.Path == "/v1/kv/"+prefix+"composition/meta" && q.Has("consistent"): // Open's read
			w.Header().Set("X-Consul-Index", "500")
			w.WriteHeader(http.StatusNotFound)
		case r.URL.Path == "/v1/kv/"+prefix+"composition/meta":
			mu.Lock()
			watchIndexes = append(watchIndexes, q.Get("index"))
			n := len(watchIndexes)
			mu.Unlock()
			switch n {
			case 1: // the watch's first query: Consul at 500
				w.Header().Set("X-Consul-Index", "500")
				w.WriteHeader(http.StatusNotFound)
			case 2: // Consul goes away (restarting)
				http.Error(w, "No cluster leader", http.StatusInternalServerError)
			default: // the restarted Consul, at a low index: hold as Consul would
				select {
				case <-r.Context().Done():
				case <-time.After(2 * time.Second):
				}
				w.Header().Set("X-Consul-Index", "20")
				w.WriteHeader(http.StatusNotFound)
			}
		default:
			http.Error(w, "unexpected "+r.URL.String(), http.StatusTeapot)
		}
	}))
	defer srv.Close()
	cfg := api.DefaultConfig()
	cfg.Address = srv.URL
	cl, err := api.NewClient(cfg)
	require.NoError(t, err)
	open(t, cl)
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(watchIndexes) >= 3
	}, 5*time.Second, 10*time.Millisecond)
	mu.Lock()
	got := append([]string(nil), watchIndexes[:3]...)
	mu.Unlock()
	require.Equal(t, "500", got[1], "the query that fails waits on 500")
	assert.Contains(t, []string{"", "0"}, got[2],
		"after an error the watch still waits on index %s: a restarted Consul (lower index) holds it for the whole wait", got[2])
}
