package registry

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

func TestRunFollowsCompositionAndStopsWaiters(t *testing.T) {
	f := newFixture(t)
	_, err := f.r.Register("a", reg("news"))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.r.Run(ctx) }()

	idx := f.r.Index()
	woke := make(chan uint64, 1)
	go func() {
		n, _ := f.r.Wait(context.Background(), idx)
		woke <- n
	}()
	f.store.write(t, func(tx *composition.Tx) error {
		return tx.Create(&composition.Service{Name: "News", SystemName: "news"})
	})
	select {
	case n := <-woke:
		assert.Greater(t, n, idx, "a new revision changes the map")
	case <-time.After(5 * time.Second):
		t.Fatal("no wake-up on a composition revision")
	}
	m := f.r.Map()
	assert.Equal(t, uint64(1), m.Revision)
	require.Len(t, m.Services, 1)
	assert.Equal(t, "news", m.Services[0].Name)
	assert.NotZero(t, m.Services[0].ID)
	require.Len(t, m.Services[0].Instances, 1, "the instance moved under the service the composition now has")

	blocked := make(chan error, 1)
	go func() {
		_, err := f.r.Wait(context.Background(), f.r.Index())
		blocked <- err
	}()
	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop")
	}
	select {
	case err := <-blocked:
		assert.ErrorIs(t, err, ErrStopped)
	case <-time.After(5 * time.Second):
		t.Fatal("a blocked Wait was not released when Run ended")
	}
	assert.Error(t, f.r.Run(context.Background()), "Run runs once")
}

func TestRunReapsOnItsOwn(t *testing.T) {
	store := newMemStore()
	r, err := New(Config{Store: store, Heartbeat: 100 * time.Millisecond, TTL: 300 * time.Millisecond,
		DeregisterCriticalAfter: time.Second, Logger: zerolog.Nop()})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = r.Run(ctx) }()
	rg := reg("news")
	rg.TTL = Duration(time.Second)
	_, err = r.Register("a", rg)
	require.NoError(t, err)
	start := time.Now()
	require.Eventually(t, func() bool { return r.Stats().Instances[StatusCritical] == 1 }, 3*time.Second, 5*time.Millisecond)
	assert.Less(t, time.Since(start), 1500*time.Millisecond, "critical soon after its TTL")
	require.Eventually(t, func() bool { return r.Len() == 0 }, 3*time.Second, 5*time.Millisecond)
}
