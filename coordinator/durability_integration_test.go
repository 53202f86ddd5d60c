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

// Writes in flight, kill -9, restart on the same data dir: every acknowledged
// write is there, whole, and revisions go on increasing.
func TestKill9KeepsEveryAcknowledgedWrite(t *testing.T) {
	co := testenv.StartCoordinator(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var wg sync.WaitGroup
	writes := startServiceWriters(ctx, &wg, co, &http.Client{Timeout: 5 * time.Second}, 4)
	require.Eventually(t, func() bool { return writes.acked() >= 100 }, 30*time.Second, 5*time.Millisecond)
	co.Kill()
	cancel()
	wg.Wait()

	n := writes.acked()
	co.Start()
	rev := co.Revision(t)
	// Each service create is one revision.
	assert.GreaterOrEqual(t, rev, uint64(n))
	writes.check(t, co)
	// And revisions go on from there.
	got := send(t, co, "POST", "/admin/api/services.json", "application/x-www-form-urlencoded", "name=after-restart")
	require.Equal(t, http.StatusCreated, got.status, got.body)
	assert.Equal(t, rev+1, co.Revision(t))
	t.Logf("%d writes acknowledged before kill -9; revision %d after restart", n, rev)
}
