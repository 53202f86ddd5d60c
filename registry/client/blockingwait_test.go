package client_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/registry/client"
)

// A blocking read with an index and no wait waits home's default wait
// (QueryOptions): Timeout, which bounds ordinary calls, does not cut it.
func TestBlockingReadWithHomesDefaultWaitOutlivesTimeout(t *testing.T) {
	h := newHome(t)
	c := newClient(t, client.Config{Address: h.srv.URL, Token: adminToken, Timeout: 200 * time.Millisecond})
	_, idx, err := c.Map(context.Background(), 0, 0, "")
	require.NoError(t, err)
	go func() {
		time.Sleep(600 * time.Millisecond)
		_, _ = h.reg.Register("news-1", *registration("news"))
	}()
	start := time.Now()
	_, got, err := c.Map(context.Background(), idx, 0, "")
	require.NoError(t, err, "a blocking read on home's default wait is not cut by Timeout")
	assert.Greater(t, got, idx, "answered on the change")
	assert.GreaterOrEqual(t, time.Since(start), 500*time.Millisecond)
}
