package consulstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/hashicorp/consul/api"

	"github.com/portolan/portolan/composition"
)

// maxTxnBytes bounds the keys and values a transaction carrying several
// revisions holds. Consul refuses a /v1/txn body over txn_max_req_len
// (512 KiB by default) and the body carries values in base64 (4/3 of their
// size) with each operation's JSON around them; a revision alone is always
// sent, whatever its size, as it was before writes were grouped.
const maxTxnBytes = 256 << 10

// revisionOps is what one revision writes: an operation per entity it
// touched, and their keys' and values' size.
type revisionOps struct {
	next *composition.Composition
	ops  api.KVTxnOps
	size int
}

// encode turns the changes making next into KV operations. A revision
// touching more than MaxChanges entities cannot be one transaction and is
// refused.
func (s *Store) encode(changes []composition.Change, next *composition.Composition) (revisionOps, error) {
	if len(changes) > MaxChanges {
		return revisionOps{}, fmt.Errorf("consulstore: write touches %d entities, more than %d: Consul transactions are limited to %d operations (one is the revision check)",
			len(changes), MaxChanges, MaxTxnOps)
	}
	r := revisionOps{next: next, ops: make(api.KVTxnOps, 0, len(changes))}
	for _, ch := range changes {
		key := s.key(ch.Kind, ch.ID)
		r.size += len(key)
		if ch.Entity == nil {
			r.ops = append(r.ops, &api.KVTxnOp{Verb: api.KVDelete, Key: key})
			continue
		}
		val, err := json.Marshal(ch.Entity)
		if err != nil {
			return revisionOps{}, fmt.Errorf("consulstore: encode %s/%d: %w", ch.Kind, ch.ID, err)
		}
		r.size += len(val)
		r.ops = append(r.ops, &api.KVTxnOp{Verb: api.KVSet, Key: key, Value: val})
	}
	return r, nil
}

func (s *Store) key(k composition.Kind, id int64) string {
	return s.root + string(k) + "/" + strconv.FormatInt(id, 10)
}

// txnBatch is consecutive revisions committed as one Consul transaction:
// the meta check-and-set, then each key they touch once, with what the last
// of them made of it (Consul applies a transaction's operations in order,
// so a key set then deleted, or set twice, needs only its last operation).
type txnBatch struct {
	first, last *composition.Composition // nil while empty
	ops         api.KVTxnOps             // entity sets and deletes
	at          map[string]int           // key → its operation in ops
	size        int                      // keys and values in ops, an upper bound
}

func (b *txnBatch) empty() bool { return b.last == nil }

// fits reports whether r can join the batch within Consul's limits. An
// empty batch takes any revision: encode has refused those that cannot be
// one transaction.
func (b *txnBatch) fits(r revisionOps) bool {
	if b.empty() {
		return true
	}
	added := 0
	for _, op := range r.ops {
		if _, ok := b.at[op.Key]; !ok {
			added++
		}
	}
	return 1+len(b.ops)+added <= MaxTxnOps && b.size+r.size <= maxTxnBytes
}

// add appends r, the revision after b.last (or the first).
func (b *txnBatch) add(r revisionOps) {
	if b.empty() {
		b.first = r.next
		b.at = make(map[string]int, len(r.ops))
	}
	b.last = r.next
	for _, op := range r.ops {
		if i, ok := b.at[op.Key]; ok {
			b.ops[i] = op
			continue
		}
		b.at[op.Key] = len(b.ops)
		b.ops = append(b.ops, op)
	}
	b.size += r.size
}

// describe names the batch's revisions, for errors.
func (b *txnBatch) describe() string {
	if b.first == b.last {
		return fmt.Sprintf("revision %d", b.last.Revision)
	}
	return fmt.Sprintf("revisions %d to %d", b.first.Revision, b.last.Revision)
}

// persist is the Head's PersistFunc: one revision alone (Head.Update; the
// store's own Update group-commits).
func (s *Store) persist(ctx context.Context, changes []composition.Change, next *composition.Composition) error {
	r, err := s.encode(changes, next)
	if err != nil {
		return err
	}
	var b txnBatch
	b.add(r)
	return s.commit(ctx, &b)
}

// commit writes the batch as one transaction checked against the meta key's
// ModifyIndex at the revision before it. It returns *ErrConflict when that
// revision is no longer the newest, and records the new index on success.
func (s *Store) commit(ctx context.Context, b *txnBatch) error {
	base := b.first.Revision - 1
	s.mu.Lock()
	knownRev, idx := s.knownRev, s.metaIndex
	s.mu.Unlock()
	if knownRev != base {
		// A newer revision was loaded but not yet published under this write.
		return &ErrConflict{Revision: base}
	}
	if err := s.reserve(b.last); err != nil {
		return fmt.Errorf("consulstore: persist %s: %w", b.describe(), err)
	}
	mv, err := json.Marshal(meta{Revision: b.last.Revision, LastID: b.last.LastID})
	if err != nil {
		return fmt.Errorf("consulstore: encode meta: %w", err)
	}
	ops := make(api.KVTxnOps, 0, len(b.ops)+1)
	ops = append(ops, &api.KVTxnOp{Verb: api.KVCAS, Key: s.metaKey, Value: mv, Index: idx})
	ops = append(ops, b.ops...)
	ok, resp, _, err := s.kv.Txn(ops, (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		if !outcomeKnown(err) {
			return &ErrOutcomeUnknown{What: b.describe(), Err: err}
		}
		if d := s.denied("write", err); d != nil {
			err = d
		}
		return fmt.Errorf("consulstore: persist %s: %w", b.describe(), err)
	}
	if !ok {
		// A refused token fails the meta check-and-set too: it is no
		// conflict, and a retry would fail the same way.
		if d := s.deniedOp(resp.Errors); d != nil {
			return fmt.Errorf("consulstore: persist %s: %w", b.describe(), d)
		}
		var msgs []string
		for _, e := range resp.Errors {
			if e.OpIndex == 0 {
				return &ErrConflict{Revision: base}
			}
			msgs = append(msgs, fmt.Sprintf("op %d: %s", e.OpIndex, e.What))
		}
		return fmt.Errorf("consulstore: persist %s: transaction rolled back: %s", b.describe(), strings.Join(msgs, "; "))
	}
	var newIdx uint64
	for _, p := range resp.Results {
		if p != nil && p.Key == s.metaKey {
			newIdx = p.ModifyIndex
		}
	}
	if newIdx == 0 {
		return fmt.Errorf("consulstore: persist %s: no meta key in the transaction result", b.describe())
	}
	s.remember(b.last.Revision, newIdx)
	s.stored(b.last.Revision)
	return nil
}
