package coordinator_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// A coordinator on Consul killed with SIGKILL while concurrent composition
// writes are being group-committed comes back with every acknowledged one,
// whole, and nothing unacknowledged half there: a service has its hits
// metric and proxy or does not exist, and nothing is there that was never
// sent. (The Consul transaction is the unit of atomicity; Consul outlives
// the coordinator.)
func TestKill9ConsulGroupCommitKeepsAcknowledgedWrites(t *testing.T) {
	consul := testenv.StartConsul(t)
	co := testenv.StartCoordinator(t, "--consul", consul.URL, "--consul-prefix", "kill9/")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 32}}

	var mu sync.Mutex
	sentNames, ackedNames := map[string]bool{}, map[string]bool{}
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				name := fmt.Sprintf("gc-%d-%d", w, i)
				mu.Lock()
				sentNames[name] = true
				mu.Unlock()
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, co.URL+"/admin/api/services.json",
					strings.NewReader(url.Values{"name": {name}, "system_name": {name}}.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth("", co.Token)
				resp, err := client.Do(req)
				if err != nil {
					return // the coordinator died under us
				}
				resp.Body.Close()
				if resp.StatusCode == http.StatusCreated {
					mu.Lock()
					ackedNames[name] = true
					mu.Unlock()
				}
			}
		})
	}
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(ackedNames) >= 100
	}, 60*time.Second, 5*time.Millisecond, "writes acknowledged before the kill")
	co.Kill()
	cancel()
	wg.Wait()
	co.Start()

	services := listServices(t, co)
	for name := range ackedNames {
		assert.Contains(t, services, name, "acknowledged service %s lost", name)
	}
	found := 0
	for name, id := range services {
		if !strings.HasPrefix(name, "gc-") {
			continue
		}
		found++
		assert.True(t, sentNames[name], "service %s was never sent", name)
		got := send(t, co, http.MethodGet, fmt.Sprintf("/admin/api/services/%d/metrics.json", id), "", "")
		require.Equal(t, http.StatusOK, got.status)
		assert.Contains(t, got.body, `"system_name":"hits"`, "service %s has its hits metric", name)
		got = send(t, co, http.MethodGet, fmt.Sprintf("/admin/api/services/%d/proxy.json", id), "", "")
		assert.Equal(t, http.StatusOK, got.status, "service %s has its proxy", name)
	}
	t.Logf("before kill -9: %d of %d service creates acknowledged; after: %d services", len(ackedNames), len(sentNames), found)

	// And it goes on writing from there.
	got := send(t, co, http.MethodPost, "/admin/api/services.json", "application/x-www-form-urlencoded", "name=After")
	assert.Equal(t, http.StatusCreated, got.status, got.body)
}
