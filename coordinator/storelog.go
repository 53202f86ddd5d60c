package coordinator

import (
	"context"

	"github.com/rs/zerolog"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/threescale"
)

// loggedStore is the composition store as the 3scale APIs write to it: a
// write that fails for the store's own reason (a full or read-only disk,
// Consul gone) is logged, since those APIs answer it 5xx with no detail, as
// 3scale does; without the log an operator's only sign of a full disk would
// be a client's 500. Refusals of the write itself (422, 404, 409) and
// writes whose caller went away are not logged. A write to Consul that
// timed out is not certain to be lost: Consul may apply it once it answers
// again, and the store then takes it as any other coordinator's.
type loggedStore struct {
	composition.Store
	log zerolog.Logger
}

func (s loggedStore) Update(ctx context.Context, fn func(*composition.Tx) error) (*composition.Snapshot, error) {
	snap, err := s.Store.Update(ctx, fn)
	if status := threescale.StatusOf(err); err != nil && ctx.Err() == nil && status >= 500 {
		s.log.Error().Err(err).Int("status", status).Msg("a composition write failed")
	}
	return snap, err
}
