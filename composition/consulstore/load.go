package consulstore

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/consul/api"

	"github.com/portolan/portolan/composition"
)

// loadFinished loads the composition as Open needs it: a large revision
// left unfinished is finished first (before the floor may raise the
// revision over it).
func (s *Store) loadFinished(ctx context.Context) (*composition.Composition, uint64, error) {
	for range stageReadAttempts {
		c, idx, p, err := s.load(ctx)
		if err != nil {
			return nil, 0, err
		}
		// Recorded on every round: a finish lost to another coordinator
		// must not leave its revision pending once a load found it done.
		s.knownRev, s.metaIndex, s.pending = c.Revision, idx, p
		if p == nil {
			return c, idx, nil
		}
		err = s.finish(ctx)
		if errors.As(err, new(*ErrDenied)) {
			// A token that may not write (a read-only one) cannot finish
			// it, but reads it whole: its writes are refused all the same.
			return c, idx, nil
		}
		if err != nil && !errors.Is(err, errMetaMoved) {
			return nil, 0, fmt.Errorf("consulstore: %w", err)
		}
	}
	return nil, 0, fmt.Errorf("consulstore: large revisions kept being committed while opening; open again")
}

// load reads the whole composition in one consistent List and returns it
// sealed, with the meta key's ModifyIndex (0 when there is none) and the
// large revision it holds unfinished (nil: none), whose stage it has laid
// over the entity keys. A key it cannot read is *ErrCorrupt.
func (s *Store) load(ctx context.Context) (*composition.Composition, uint64, *pendingState, error) {
	for attempt := 1; ; attempt++ {
		c, idx, p, err := s.loadOnce(ctx)
		if errors.Is(err, errStageMoved) {
			if attempt < stageReadAttempts {
				continue
			}
			err = fmt.Errorf("consulstore: large revisions were finished while the composition was read, %d times: %w", attempt, err)
		}
		return c, idx, p, err
	}
}

func (s *Store) loadOnce(ctx context.Context) (*composition.Composition, uint64, *pendingState, error) {
	pairs, err := s.list(ctx, s.root)
	if err != nil {
		return nil, 0, nil, err
	}
	c := composition.New()
	var idx uint64
	var sawMeta, staged bool
	var p *pendingState
	entities := make([]*api.KVPair, 0, len(pairs))
	for _, pair := range pairs {
		switch pair.Key {
		case s.metaKey:
			var m meta
			if err := json.Unmarshal(pair.Value, &m); err != nil {
				return nil, 0, nil, &ErrCorrupt{Key: pair.Key, Err: fmt.Errorf("decode the meta key: %w", err)}
			}
			c.Revision, c.LastID, idx, staged = m.Revision, m.LastID, pair.ModifyIndex, m.Staged
			sawMeta = true
			continue
		case s.pendingKey:
			p = &pendingState{}
			if err := json.Unmarshal(pair.Value, &p.marker); err != nil || p.marker.Stage == "" {
				return nil, 0, nil, &ErrCorrupt{Key: pair.Key, Err: fmt.Errorf("decode the pending key: %v", cmp.Or(err, errors.New("no stage")))}
			}
			continue
		}
		if _, _, ok := strings.Cut(strings.TrimPrefix(pair.Key, s.root), "/"); !ok {
			return nil, 0, nil, &ErrCorrupt{Key: pair.Key, Err: errors.New("not a key the store writes (<kind>/<id>, meta or pending)")}
		}
		entities = append(entities, pair)
	}
	if (p != nil) != staged {
		return nil, 0, nil, &ErrCorrupt{Key: s.pendingKey, Err: fmt.Errorf("the pending key and the meta key's staged flag (%v) disagree", staged)}
	}
	if p != nil {
		if p.marker.Revision != c.Revision {
			return nil, 0, nil, &ErrCorrupt{Key: s.pendingKey, Err: fmt.Errorf("it names revision %d, the meta key %d", p.marker.Revision, c.Revision)}
		}
		p.index = idx
		if p.ops, err = s.readStage(ctx, p.marker); err != nil {
			return nil, 0, nil, err
		}
		if p.meta, err = json.Marshal(meta{Revision: c.Revision, LastID: c.LastID}); err != nil {
			return nil, 0, nil, fmt.Errorf("consulstore: encode meta: %w", err)
		}
		entities = overlay(entities, p.ops)
	}
	byKind := map[composition.Kind][]*api.KVPair{}
	for _, pair := range entities {
		kind, _, _ := strings.Cut(strings.TrimPrefix(pair.Key, s.root), "/")
		byKind[composition.Kind(kind)] = append(byKind[composition.Kind(kind)], pair)
	}
	for _, k := range composition.Kinds {
		for _, pair := range byKind[k] {
			e, err := composition.DecodeEntity(k, pair.Value)
			if err != nil {
				return nil, 0, nil, &ErrCorrupt{Key: pair.Key, Err: err}
			}
			c.Restore(k, e)
		}
		delete(byKind, k)
	}
	for k, pairs := range byKind {
		return nil, 0, nil, &ErrCorrupt{Key: pairs[0].Key, Err: fmt.Errorf("unknown kind %q (written by a newer Portolan?)", k)}
	}
	if !sawMeta {
		if err := s.checkReadable(ctx, s.metaKey); err != nil {
			return nil, 0, nil, err
		}
	}
	c.Seal()
	return c, idx, p, nil
}

// overlay lays a pending revision's operations over the entity keys listed.
func overlay(entities []*api.KVPair, ops api.KVTxnOps) []*api.KVPair {
	over := make(map[string]*api.KVTxnOp, len(ops))
	for _, op := range ops {
		over[op.Key] = op
	}
	kept := entities[:0]
	for _, pair := range entities {
		if op, ok := over[pair.Key]; ok {
			delete(over, pair.Key)
			if op.Verb == api.KVDelete {
				continue
			}
			pair = &api.KVPair{Key: pair.Key, Value: op.Value}
		}
		kept = append(kept, pair)
	}
	for _, op := range over { // entities the revision creates
		if op.Verb == api.KVSet {
			kept = append(kept, &api.KVPair{Key: op.Key, Value: op.Value})
		}
	}
	return kept
}

// list reads the keys under prefix consistently. A token Consul refuses,
// or one it left keys out of the list for, is *ErrDenied: part of the
// composition must never be taken for all of it.
func (s *Store) list(ctx context.Context, prefix string) (api.KVPairs, error) {
	pairs, qm, err := s.kv.List(prefix, (&api.QueryOptions{RequireConsistent: true}).WithContext(ctx))
	if err != nil {
		if d := s.denied("read", err); d != nil {
			return nil, d
		}
		return nil, fmt.Errorf("consulstore: list %s: %w", prefix, err)
	}
	if qm.ResultsFilteredByACLs {
		return nil, s.filtered()
	}
	return pairs, nil
}
