package consulstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/hashicorp/consul/api"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/composition/storefloor"
)

// openFloor keeps this coordinator's floor in dir (storefloor): Consul
// restored from an older snapshot holds older revisions than agents took
// from this coordinator, so it raises the loaded c above them and writes
// the raised revision and last id to the meta key (check-and-set on idx,
// the meta key's ModifyIndex at load: 0, none), for every coordinator to
// go on from; it returns the meta key's index after. An empty Consul over a
// floor that says it had content is refused unless startEmpty. Each
// coordinator keeps its own floor: a revision its agents got from it,
// written by another, is bounded by the reservation made before it was
// published (reserve).
func (s *Store) openFloor(ctx context.Context, dir string, c *composition.Composition, idx uint64, startEmpty bool) (uint64, error) {
	rev, lastID := c.Revision, c.LastID
	fl, err := storefloor.Open(dir, c, "the composition in Consul under "+s.root, startEmpty)
	if err != nil {
		return 0, err
	}
	s.floor = fl
	if c.Revision == rev && c.LastID == lastID {
		return idx, nil
	}
	mv, err := json.Marshal(meta{Revision: c.Revision, LastID: c.LastID})
	if err != nil {
		return 0, fmt.Errorf("consulstore: encode meta: %w", err)
	}
	ok, resp, err := s.txn(ctx, api.KVTxnOps{{Verb: api.KVCAS, Key: s.metaKey, Value: mv, Index: idx}})
	if err != nil {
		if d := s.denied("write", err); d != nil {
			err = d
		}
		return 0, fmt.Errorf("consulstore: raise the revision above this coordinator's floor: %w", err)
	}
	if d := s.deniedOp(resp.Errors); !ok && d != nil {
		return 0, fmt.Errorf("consulstore: raise the revision above this coordinator's floor: %w", d)
	}
	if !ok || len(resp.Results) == 0 || resp.Results[0].KV == nil {
		return 0, fmt.Errorf("consulstore: another coordinator wrote while this one raised the revision in Consul above its floor (%d): start it again", c.Revision)
	}
	s.log.Warn().Uint64("revision", rev).Uint64("resumed_at", c.Revision).
		Msg("consulstore: Consul held an older composition than this coordinator published (restored from a snapshot?): it goes on above, so that agents take it")
	return resp.Results[0].KV.ModifyIndex, nil
}

// reserve bounds next in the floor before it is published; nil without a
// floor.
func (s *Store) reserve(next *composition.Composition) error {
	if s.floor == nil {
		return nil
	}
	return s.floor.Reserve(next)
}

// stored records in the floor that Consul holds revision.
func (s *Store) stored(revision uint64) {
	if s.floor != nil {
		_ = s.floor.Stored(revision) // best effort: it only makes a lost Consul refused
	}
}
