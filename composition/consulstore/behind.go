package consulstore

import (
	"fmt"
	"net/http"
)

// ErrBehind is why a write is refused when Consul holds an older composition
// than the one this store has published, or none: Consul lost its data (a
// cluster rebuilt, a dev agent restarted) or was restored from an older
// snapshot. No write can succeed on it (each would conflict with a revision
// Consul no longer has), and this coordinator still holds the newer
// composition in memory only: a restart would load what Consul holds.
type ErrBehind struct {
	Prefix string // the store's key prefix in Consul
	Held   uint64 // the revision this store published
	Consul uint64 // the revision Consul holds; 0: none
}

func (e *ErrBehind) Error() string {
	return fmt.Sprintf("the composition in Consul under %s is at revision %d, older than the %d this coordinator holds: "+
		"Consul lost or rolled back its data, and writes are refused. Export the composition from this coordinator "+
		"(portolan export) before restarting it: it then goes on from what Consul holds, above the revisions it published "+
		"(an empty Consul only with --start-empty), and the export can be imported",
		e.Prefix, e.Consul, e.Held)
}

// HTTPStatus maps it to 503: nothing the caller sent is wrong, and no retry
// succeeds until an operator acts.
func (e *ErrBehind) HTTPStatus() int { return http.StatusServiceUnavailable }

// Err returns *ErrBehind while Consul holds an older composition than this
// store published, else nil: what a readiness probe reports.
func (s *Store) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.behind == nil {
		return nil
	}
	return s.behind
}

// checkBehind records whether Consul's revision (0: no meta key), read
// consistently after held was published, is older than held, logging the
// change either way, and returns *ErrBehind when it is. held must be taken
// before the read: a revision this store publishes is in Consul before it
// is published, so only a Consul that lost it can answer older, while a
// revision published after the read began may well be newer than it.
func (s *Store) checkBehind(consul, held uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if consul >= held {
		if s.behind != nil {
			s.log.Info().Uint64("revision", consul).Msg("consulstore: Consul holds the composition again")
			s.behind = nil
		}
		return nil
	}
	e := &ErrBehind{Prefix: s.root, Held: held, Consul: consul}
	if s.behind == nil || s.behind.Consul != consul {
		s.log.Error().Err(e).Msg("consulstore: Consul lost the composition")
	}
	s.behind = e
	return e
}
