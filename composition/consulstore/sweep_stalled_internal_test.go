package consulstore

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// A Consul that stops answering after a large revision is committed and
// copied, while its writer sweeps the stages left behind, does not hold the
// write, nor every write queued behind it, for as long as Consul is gone.
// The store's own promise (DefaultCommitTimeout): "a Consul that stops
// answering fails the writes waiting on it ... instead of holding them, and
// every later write, forever"; README, Consul: each of a large revision's
// transactions "is held to the commit's 30 s". The sweep is best effort: a
// stage it could not list is swept by a later large revision.
func TestLargeRevisionIsNotHeldByAStalledSweep(t *testing.T) {
	c := testenv.StartConsul(t)
	proxy := newHookProxy(t, c.URL)
	s, err := Open(context.Background(), Config{Client: proxy.client(t), Prefix: "internal/", Logger: zerolog.Nop(),
		CommitTimeout: time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	svc := newService(t, s, "svc")

	// Consul answers every call but the sweep's listing of the stages,
	// which it holds (a Consul paused, or cut off, at that moment).
	release := make(chan struct{})
	t.Cleanup(func() { close(release) }) // runs before the store's Close and the proxy's
	proxy.set(func(r *http.Request) {
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/"+strings.TrimSuffix(s.stagedRoot, "/")+"/") && r.URL.Query().Has("keys") {
			<-release
		}
	}, nil, nil)

	done := make(chan error, 1)
	go func() {
		_, err := s.Update(context.Background(), createMetrics(svc, "big", MaxChanges+20))
		done <- err
	}()
	select {
	case err := <-done:
		require.NoError(t, err, "the revision was committed and copied before the sweep")
	case <-time.After(15 * time.Second):
		t.Fatalf("a large write was still unanswered 15 s after it began, held by the sweep's listing of %s "+
			"(commit timeout 1 s): every later write waits behind it", s.stagedRoot)
	}
}
