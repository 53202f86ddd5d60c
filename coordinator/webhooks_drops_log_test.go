package coordinator

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition/boltstore"
	"github.com/portolan/portolan/threescale"
)

// lockedBuffer is a log sink the reporter writes while the test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Failures dropped are logged once per interval, summed, not once each;
// an interval without any logs nothing.
func TestWebhookFailuresDroppedLoggedOncePerInterval(t *testing.T) {
	store, err := boltstore.Open(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	api := threescale.New(store, threescale.NewStoreTokenChecker(store.Snapshot, "t"))
	api.SetCaps(threescale.Caps{})
	var logs lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); reportWebhookDrops(ctx, api, 50*time.Millisecond, zerolog.New(&logs)) }()
	t.Cleanup(func() { cancel(); <-done })

	for range 3 {
		api.CountWebhookFailuresDropped(2)
	}
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), `"failures":6`) }, 5*time.Second, 10*time.Millisecond)
	time.Sleep(150 * time.Millisecond)
	assert.Equal(t, 1, strings.Count(logs.String(), "\n"), "one line for the interval, none for the quiet ones: %s", logs.String())
	assert.Contains(t, logs.String(), "--max-webhook-failures")
}
