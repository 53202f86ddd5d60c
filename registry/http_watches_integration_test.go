package registry_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/registry"
)

// blockingCall sends a blocking read with token until ctx ends; status 0
// when ctx ended it.
func blockingCall(ctx context.Context, base, path, token string) answer {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err != nil {
		return answer{status: -1, body: err.Error()}
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(b)}
}

// One agent's credential must not hold home's connections: home bounds
// the connections of all its callers together (65536), so one credential
// holding that many blocking queries, each for up to MaxWait, would leave
// no connection for any other agent's heartbeat. An agent needs two (its
// composition and its map); past MaxWatchesPerInstance home answers 429 at
// once, other instances are not bound by it, and a slot comes back when a
// query ends.
func TestOneCredentialHoldsABoundedNumberOfBlockingQueries(t *testing.T) {
	co := testenv.StartCoordinator(t)
	createService(t, co, "first")
	rev := co.Revision(t)
	long := registration("first")
	long.TTL = registry.Duration(time.Hour) // no heartbeats here: the map must not change while it waits
	cred := register(t, co, "first-1", long).Credential
	other := register(t, co, "first-2", long).Credential
	composition := func(wait string) string { return fmt.Sprintf("/v1/composition?index=%d&wait=%s", rev, wait) }

	// One more than the bound, at once: one of them is refused, at once.
	ctx, cancel := context.WithCancel(context.Background())
	var held sync.WaitGroup
	refused := make(chan answer, registry.MaxWatchesPerInstance+1)
	for range registry.MaxWatchesPerInstance + 1 {
		held.Go(func() {
			if a := blockingCall(ctx, co.URL, composition("60s"), cred); a.status != 0 {
				refused <- a
			}
		})
	}
	t.Cleanup(func() { cancel(); held.Wait() })
	select {
	case a := <-refused:
		require.Equal(t, http.StatusTooManyRequests, a.status, "%s", a.body)
		assert.Contains(t, a.errorMessage(t), "blocking queries")
		assert.NotEmpty(t, a.header.Get("Retry-After"))
	case <-time.After(10 * time.Second):
		t.Fatalf("a credential opened %d blocking queries at once", registry.MaxWatchesPerInstance+1)
	}
	_, m := getMap(t, co, "")
	start := time.Now()
	a := agentCall(t, co.URL, "GET", "/v1/map?wait=5s&index="+m.header.Get(registry.IndexHeader), cred, "")
	assert.Equal(t, http.StatusTooManyRequests, a.status, "the map's blocking queries count too: %s", a.body)
	assert.Less(t, time.Since(start), 5*time.Second, "refused at once")
	a = agentCall(t, co.URL, "GET", fmt.Sprintf("/v1/composition?index=%d", rev-1), cred, "")
	assert.Equal(t, http.StatusOK, a.status, "a read that does not block is not bound: %s", a.body)

	start = time.Now()
	a = agentCall(t, co.URL, "GET", composition("300ms"), other, "")
	assert.Equal(t, http.StatusOK, a.status, "another instance is not bound by it: %s", a.body)
	assert.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond, "and it blocked")

	cancel()
	held.Wait()
	require.Eventually(t, func() bool {
		return agentCall(t, co.URL, "GET", composition("100ms"), cred, "").status == http.StatusOK
	}, 10*time.Second, 50*time.Millisecond, "the slots come back when the queries end")
}
