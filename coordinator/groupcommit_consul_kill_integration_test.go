package coordinator_test

import (
	"context"
	"net/http"
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

	var wg sync.WaitGroup
	writes := startServiceWriters(ctx, &wg, co, client, 16)
	require.Eventually(t, func() bool { return writes.acked() >= 100 }, 60*time.Second, 5*time.Millisecond,
		"writes acknowledged before the kill")
	co.Kill()
	cancel()
	wg.Wait()
	co.Start()

	found := writes.check(t, co)
	t.Logf("before kill -9: %d of %d service creates acknowledged; after: %d services", writes.acked(), writes.sent(), found)

	// And it goes on writing from there.
	got := send(t, co, http.MethodPost, "/admin/api/services.json", "application/x-www-form-urlencoded", "name=After")
	assert.Equal(t, http.StatusCreated, got.status, got.body)
}
