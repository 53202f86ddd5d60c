package agent

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/portolan/portolan/registry"
)

// mapShareFor is how long GET /v1/agent/map answers with the map it drew
// last rather than asking home again: the local API has no authentication,
// and each call would otherwise be a fetch of home's whole map.
const mapShareFor = time.Second

// mapShare shares the drawing of the service map among the local API's
// callers: concurrent calls wait for the one fetch in flight, and calls
// within mapShareFor of its end take its answer. It holds one map at most.
type mapShare struct {
	// ctx is the local API's: a fetch is bounded (serviceMap), and ends
	// with the agent, not with the caller that leads it, whom others wait on.
	ctx   context.Context
	fetch func(context.Context) (*registry.Map, error)

	mu     sync.Mutex
	flight *mapFetch // the latest fetch, running or done
}

// mapFetch is one drawing of the map; m and err are set before done closes.
type mapFetch struct {
	done chan struct{}
	at   time.Time // when it ended
	m    *registry.Map
	err  error
}

// get returns the map, shared as mapShare says, or ctx's error when the
// caller goes first. The map returned is shared: read it, never change it.
func (s *mapShare) get(ctx context.Context) (*registry.Map, error) {
	s.mu.Lock()
	f := s.flight
	lead := f == nil || f.over(time.Now())
	if lead {
		f = &mapFetch{done: make(chan struct{})}
		s.flight = f
	}
	s.mu.Unlock()
	if lead { // on the caller's goroutine: the server's shutdown waits for it
		s.run(f)
	}
	select {
	case <-f.done:
		return f.m, f.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *mapShare) run(f *mapFetch) {
	fetched := false
	defer func() { // also when the fetch panics (net/http recovers it): no caller waits on it for ever
		s.mu.Lock()
		if !fetched {
			f.err = errors.New("home's map: the fetch failed")
		}
		f.at = time.Now()
		s.mu.Unlock()
		close(f.done)
	}()
	m, err := s.fetch(s.ctx)
	s.mu.Lock()
	f.m, f.err = m, err
	s.mu.Unlock()
	fetched = true
}

// over reports whether f ended longer than mapShareFor before now; mapShare's
// mu is held.
func (f *mapFetch) over(now time.Time) bool {
	select {
	case <-f.done:
		return now.Sub(f.at) > mapShareFor
	default:
		return false // in flight: share it
	}
}
