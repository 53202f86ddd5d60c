package agent

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/registry"
)

// Concurrent and quick calls of GET /v1/agent/map share one fetch of
// home's map; a call after mapShareFor fetches again.
func TestLocalMapCallsShareOneFetch(t *testing.T) {
	var fetches atomic.Int64
	release := make(chan struct{})
	s := &mapShare{ctx: context.Background(), fetch: func(context.Context) (*registry.Map, error) {
		fetches.Add(1)
		<-release
		return &registry.Map{Index: uint64(fetches.Load())}, nil
	}}
	const callers = 20
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			m, err := s.get(context.Background())
			assert.NoError(t, err)
			assert.EqualValues(t, 1, m.Index)
		})
	}
	time.Sleep(50 * time.Millisecond) // all callers waiting on one fetch
	close(release)
	wg.Wait()
	assert.EqualValues(t, 1, fetches.Load(), "%d concurrent calls make one fetch", callers)

	for range callers {
		_, err := s.get(context.Background())
		require.NoError(t, err)
	}
	assert.EqualValues(t, 1, fetches.Load(), "calls within %s take the last answer", mapShareFor)

	time.Sleep(mapShareFor + 50*time.Millisecond)
	m, err := s.get(context.Background())
	require.NoError(t, err)
	assert.EqualValues(t, 2, m.Index, "a call after %s fetches again", mapShareFor)
}

// A caller that goes away stops waiting; the fetch goes on for the others.
func TestLocalMapCallerCanGiveUp(t *testing.T) {
	release := make(chan struct{})
	s := &mapShare{ctx: context.Background(), fetch: func(context.Context) (*registry.Map, error) {
		<-release
		return &registry.Map{}, nil
	}}
	lead := make(chan error, 1)
	go func() { _, err := s.get(context.Background()); lead <- err }()
	time.Sleep(20 * time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.get(ctx)
	assert.ErrorIs(t, err, context.Canceled)
	close(release)
	assert.NoError(t, <-lead)
}
