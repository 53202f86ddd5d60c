package policy

import "sync"

// Shared holds state that outlives a chain (rate limit counters), keyed by
// name, as APIcast's lua_shared_dict does. Its zero value is ready.
type Shared struct {
	m sync.Map
}

// Get returns the value under key, storing mk's result first when there is
// none. mk may run more than once under contention; one result wins.
func (s *Shared) Get(key string, mk func() any) any {
	if v, ok := s.m.Load(key); ok {
		return v
	}
	v, _ := s.m.LoadOrStore(key, mk())
	return v
}
