package consulstore

import (
	"errors"
	"fmt"
	"net/http"
)

// ErrCorrupt is why a write is refused when a key under the store's prefix
// cannot be read: a value that is not what a coordinator writes (someone
// else wrote it: consul kv put, an import of the wrong file, a newer
// Portolan's kind). The store keeps serving the last composition it read,
// but a write would need the newer one, and each attempt would conflict
// again: no retry succeeds until an operator fixes or removes the key, so
// it is not told as a conflict.
type ErrCorrupt struct {
	Key string // the Consul key that cannot be read
	Err error  // why
}

func (e *ErrCorrupt) Error() string {
	return fmt.Sprintf("the composition in Consul cannot be read: key %s: %v. Fix or remove the key (only coordinators "+
		"should write under their prefix): until then this coordinator takes no write", e.Key, e.Err)
}

func (e *ErrCorrupt) Unwrap() error { return e.Err }

// HTTPStatus maps it to 503: nothing the caller sent is wrong, and no retry
// succeeds until an operator acts.
func (e *ErrCorrupt) HTTPStatus() int { return http.StatusServiceUnavailable }

// noteCorrupt records whether a consistent load, which failed with err (nil:
// it succeeded), found a key this store cannot read, logging the change
// either way. Other errors (Consul unreachable) say nothing of the data and
// leave the state as it was.
func (s *Store) noteCorrupt(err error) {
	var corrupt *ErrCorrupt
	isCorrupt := errors.As(err, &corrupt)
	if err != nil && !isCorrupt {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case isCorrupt && (s.corrupt == nil || s.corrupt.Key != corrupt.Key):
		s.log.Error().Err(corrupt).Msg("consulstore: the composition in Consul cannot be read")
	case !isCorrupt && s.corrupt != nil:
		s.log.Info().Str("key", s.corrupt.Key).Msg("consulstore: the composition in Consul can be read again")
	}
	s.corrupt = corrupt
}

// unreadable returns *ErrCorrupt while the last consistent load found a key
// this store cannot read, else nil.
func (s *Store) unreadable() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.corrupt == nil {
		return nil
	}
	return s.corrupt
}
