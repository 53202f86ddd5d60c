package registry

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// memStore is a composition store in memory.
type memStore struct{ *composition.Head }

func (m memStore) Close() error { m.Head.Close(); return nil }

func newMemStore() memStore {
	nop := func(context.Context, []composition.Change, *composition.Composition) error { return nil }
	return memStore{composition.NewHead(composition.New(), nop, nil)}
}

func (m memStore) write(t testing.TB, fn func(*composition.Tx) error) *composition.Snapshot {
	t.Helper()
	s, err := m.Update(context.Background(), fn)
	require.NoError(t, err)
	return s
}

// clock is a controllable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

type fixture struct {
	r     *Registry
	clock *clock
	store memStore
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{clock: newClock(), store: newMemStore()}
	r, err := New(Config{Store: f.store, Now: f.clock.Now, Logger: zerolog.Nop()})
	require.NoError(t, err)
	f.r = r
	return f
}

// tick advances the clock and sweeps, as the reaper would.
func (f *fixture) tick(d time.Duration) {
	f.r.sweep(f.clock.Advance(d))
}

func (f *fixture) status(t testing.TB, id string) string {
	t.Helper()
	for _, s := range f.r.Map().Services {
		for _, in := range s.Instances {
			if in.ID == id {
				return in.Status
			}
		}
	}
	return "absent"
}

func (f *fixture) output(t testing.TB, id string) string {
	t.Helper()
	for _, s := range f.r.Map().Services {
		for _, in := range s.Instances {
			if in.ID == id {
				return in.Output
			}
		}
	}
	return ""
}

func reg(service string) Registration {
	return Registration{Service: service, Address: "10.0.0.7", Port: 8080, AgentVersion: "test"}
}
