package consulstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/consul/api"
)

// A large revision, one that touches more than MaxChanges entities or whose
// transaction would pass txn_max_req_len (an import, an image's documents),
// is committed in three steps, so that it stays atomic across Consul's
// 64-operation transactions:
//
//  1. stage: its changes are written under <prefix>staged/<stage>/<kind>/<id>
//     (an empty value is a delete), where no reader looks;
//  2. commit: one transaction checks-and-sets the meta key, as any write
//     does (flagged "staged"), and sets <prefix>composition/pending naming
//     the stage. From then on the revision is the composition: a reader
//     that finds the pending key reads the stage and lays it over the
//     entity keys it listed;
//  3. finish: the stage is copied onto the entity keys, each transaction
//     checking that the meta key has not moved, and a last one sets the
//     meta key without its flag (a value Consul sees changed, so watchers
//     wake) and deletes the pending key and the stage.
//
// The writer finishes at once; if it stops or Consul fails midway, any
// coordinator finishes before its next write (commit) or when it opens.
// Copies are idempotent, and the meta key's check stops a late copy from
// landing over a newer revision. A coordinator older than staged commits
// refuses the pending key as a key it cannot read (ErrCorrupt) and serves
// its last composition meanwhile, rather than a half-copied one.

// stagedKeyBytes bounds how much longer a staged key is than its entity's
// (<prefix>staged/<base revision>-<16 hex>/ against <prefix>composition/).
const stagedKeyBytes = 64

// stageReadAttempts bounds the loads that find the stage finished (and
// gone) between listing the composition and listing the stage.
const stageReadAttempts = 5

// errMetaMoved is why finish stopped: the meta key moved, so another
// coordinator finished the revision (or wrote after it).
var errMetaMoved = errors.New("the composition's meta key moved: another coordinator finished the revision")

// errStageMoved is why a load read a stage that did not match its pending
// key: the revision was finished between the two reads. It says nothing
// is wrong with the data: a load that keeps meeting it is retried, never
// told as corrupt.
var errStageMoved = errors.New("the staged revision was finished while it was read")

// pendingMarker is the pending key's value.
type pendingMarker struct {
	Revision uint64 `json:"revision"`
	Stage    string `json:"stage"`
	Changes  int    `json:"changes"`
}

// pendingState is a committed large revision not yet finished.
type pendingState struct {
	marker pendingMarker
	// index is the meta key's ModifyIndex while the revision is staged:
	// finish checks it, not the store's metaIndex, so that a pending state
	// recorded late (a reload that read it before the finish) can never be
	// copied over a newer revision.
	index uint64
	meta  []byte       // the meta key's value once finished (not staged), set by the last step
	ops   api.KVTxnOps // the revision's operations on entity keys
}

// commitLarge commits b, one large revision, over the meta key at idx
// (its value once finished: mv), and finishes it.
func (s *Store) commitLarge(ctx context.Context, b *txnBatch, idx uint64, mv []byte) error {
	ctx, cancel := withoutDeadline(ctx)
	defer cancel()
	if err := s.stageAndCommit(ctx, b, idx, mv); err != nil {
		return err
	}
	s.stored(b.last.Revision)
	if err := s.finish(ctx); err != nil && !errors.Is(err, errMetaMoved) {
		// Committed all the same: readers lay the stage over, and the
		// next write finishes it.
		s.log.Warn().Err(err).Uint64("revision", b.last.Revision).
			Msg("consulstore: a large revision is committed but not yet copied to its keys; the next write finishes it")
	}
	return nil
}

// stageAndCommit does the first two steps: the revision is committed, and
// known to this store as pending, when it returns nil.
func (s *Store) stageAndCommit(ctx context.Context, b *txnBatch, idx uint64, mv []byte) error {
	var nonce [8]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return fmt.Errorf("consulstore: persist %s: %w", b.describe(), err)
	}
	stage := strconv.FormatUint(b.first.Revision-1, 10) + "-" + hex.EncodeToString(nonce[:])
	if err := s.stage(ctx, stage, b.ops); err != nil {
		s.dropStage(ctx, stage)
		return fmt.Errorf("consulstore: persist %s: stage its %d changes: %w", b.describe(), len(b.ops), err)
	}
	marker := pendingMarker{Revision: b.last.Revision, Stage: stage, Changes: len(b.ops)}
	pv, err := json.Marshal(marker)
	if err != nil {
		return fmt.Errorf("consulstore: encode the pending key: %w", err)
	}
	staged, err := json.Marshal(meta{Revision: b.last.Revision, LastID: b.last.LastID, Staged: true})
	if err != nil {
		return fmt.Errorf("consulstore: encode meta: %w", err)
	}
	cctx, cancel := context.WithTimeout(ctx, s.timeout)
	newIdx, err := s.commitTxn(cctx, b, api.KVTxnOps{
		{Verb: api.KVCAS, Key: s.metaKey, Value: staged, Index: idx},
		{Verb: api.KVSet, Key: s.pendingKey, Value: pv},
	})
	cancel()
	if err != nil {
		if !errors.As(err, new(*ErrOutcomeUnknown)) { // else it may be the revision now
			s.dropStage(ctx, stage)
		}
		return err
	}
	s.mu.Lock()
	if b.last.Revision > s.knownRev || (b.last.Revision == s.knownRev && newIdx > s.metaIndex) {
		s.knownRev, s.metaIndex = b.last.Revision, newIdx
		s.pending = &pendingState{marker: marker, index: newIdx, meta: mv, ops: b.ops}
	}
	s.mu.Unlock()
	return nil
}

// stage writes ops under the stage's keys, in as many transactions as
// Consul's limits need.
func (s *Store) stage(ctx context.Context, stage string, ops api.KVTxnOps) error {
	staged := make(api.KVTxnOps, len(ops))
	for i, op := range ops {
		staged[i] = &api.KVTxnOp{Verb: api.KVSet, Key: s.stagedKey(stage, op.Key)}
		if op.Verb == api.KVSet {
			staged[i].Value = op.Value
		}
	}
	return s.inChunks(staged, 0, func(chunk api.KVTxnOps) error {
		ok, resp, err := s.stepTxn(ctx, chunk)
		return s.plainTxnErr(ok, resp, err)
	})
}

// finish copies the pending revision's stage onto its entity keys and
// clears it; nil when there is none. errMetaMoved: another coordinator
// finished it first (or wrote since), and a reload tells.
func (s *Store) finish(ctx context.Context) error {
	s.mu.Lock()
	p := s.pending
	s.mu.Unlock()
	if p == nil {
		return nil
	}
	ctx, cancel := withoutDeadline(ctx)
	defer cancel()
	idx := p.index
	check := &api.KVTxnOp{Verb: api.KVCheckIndex, Key: s.metaKey, Index: idx}
	err := s.inChunks(p.ops, 1, func(chunk api.KVTxnOps) error {
		ok, resp, err := s.stepTxn(ctx, append(api.KVTxnOps{check}, chunk...))
		if metaFailed(ok, resp, err) && s.deniedOp(resp.Errors) == nil {
			return errMetaMoved
		}
		return s.plainTxnErr(ok, resp, err)
	})
	if err != nil {
		return fmt.Errorf("finish revision %d: %w", p.marker.Revision, err)
	}
	ok, resp, err := s.stepTxn(ctx, api.KVTxnOps{
		{Verb: api.KVCAS, Key: s.metaKey, Value: p.meta, Index: idx},
		{Verb: api.KVDelete, Key: s.pendingKey},
		{Verb: api.KVDeleteTree, Key: s.stagePrefix(p.marker.Stage)},
	})
	if metaFailed(ok, resp, err) && s.deniedOp(resp.Errors) == nil {
		return fmt.Errorf("finish revision %d: %w", p.marker.Revision, errMetaMoved)
	}
	if err := s.plainTxnErr(ok, resp, err); err != nil {
		return fmt.Errorf("finish revision %d: %w", p.marker.Revision, err)
	}
	newIdx := s.metaIndexIn(resp)
	s.mu.Lock()
	if s.pending != nil && s.pending.index == idx { // p, or a reload's copy of it
		s.pending = nil
		if s.metaIndex == idx {
			s.metaIndex = newIdx
		}
	}
	s.mu.Unlock()
	s.sweep(ctx, p.marker.Revision)
	return nil
}

// withoutDeadline is ctx without its deadline, still cancelled with it: a
// large revision's steps are each bounded by the commit timeout (stepTxn),
// not all of them together, so that its size is not bounded by time.
func withoutDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	detached, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() {
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			cancel()
		}
	})
	return detached, func() { stop(); cancel() }
}

// stepTxn is txn bounded by the commit timeout: a Consul that stops
// answering fails a large revision's step as it fails a commit.
func (s *Store) stepTxn(ctx context.Context, ops api.KVTxnOps) (bool, *api.TxnResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return s.txn(ctx, ops)
}

// inChunks calls fn with consecutive runs of ops that fit one transaction
// beside reserved operations of a meta key's size.
func (s *Store) inChunks(ops api.KVTxnOps, reserved int, fn func(api.KVTxnOps) error) error {
	for len(ops) > 0 {
		n, size := 0, reserved*opBytes(s.metaKey, 0)
		for n < len(ops) && n+reserved < MaxTxnOps {
			sz := opBytes(ops[n].Key, len(ops[n].Value))
			if n > 0 && size+sz > s.maxTxn {
				break
			}
			size += sz
			n++
		}
		if err := fn(ops[:n]); err != nil {
			return err
		}
		ops = ops[n:]
	}
	return nil
}

// plainTxnErr is the error of a transaction that checks nothing but the
// meta key, or nil when it applied.
func (s *Store) plainTxnErr(ok bool, resp *api.TxnResponse, err error) error {
	if err != nil {
		if d := s.denied("write", err); d != nil {
			return d
		}
		return err
	}
	if ok {
		return nil
	}
	if d := s.deniedOp(resp.Errors); d != nil {
		return d
	}
	msgs := make([]string, 0, len(resp.Errors))
	for _, e := range resp.Errors {
		msgs = append(msgs, fmt.Sprintf("op %d: %s", e.OpIndex, e.What))
	}
	return fmt.Errorf("transaction rolled back: %s", strings.Join(msgs, "; "))
}

// metaFailed reports whether a transaction was rolled back on its first
// operation, the meta key's check (or an ACL refusal of it: deniedOp).
func metaFailed(ok bool, resp *api.TxnResponse, err error) bool {
	if ok || err != nil {
		return false
	}
	for _, e := range resp.Errors {
		if e.OpIndex == 0 {
			return true
		}
	}
	return false
}

// readStage reads the stage m names, with a consistent list, as operations
// on entity keys. errStageMoved: it is not all there, finished meanwhile;
// *ErrCorrupt: it is not all there, and still pending.
func (s *Store) readStage(ctx context.Context, m pendingMarker) (api.KVTxnOps, error) {
	prefix := s.stagePrefix(m.Stage)
	pairs, err := s.list(ctx, prefix)
	if err != nil {
		return nil, err
	}
	if len(pairs) != m.Changes {
		// Finished meanwhile (the usual case), or a stage that lost keys
		// while still named: only the latter is corrupt.
		still, err := s.stillPending(ctx, m)
		if err != nil {
			return nil, err
		}
		if still {
			if err := s.checkReadable(ctx, prefix); err != nil {
				return nil, err
			}
			return nil, &ErrCorrupt{Key: s.pendingKey, Err: fmt.Errorf("its stage holds %d of its %d changes in %s", len(pairs), m.Changes, prefix)}
		}
		return nil, fmt.Errorf("%w: %d of its %d changes in %s", errStageMoved, len(pairs), m.Changes, prefix)
	}
	ops := make(api.KVTxnOps, len(pairs))
	for i, p := range pairs {
		key := s.root + strings.TrimPrefix(p.Key, prefix)
		if len(p.Value) == 0 {
			ops[i] = &api.KVTxnOp{Verb: api.KVDelete, Key: key}
		} else {
			ops[i] = &api.KVTxnOp{Verb: api.KVSet, Key: key, Value: p.Value}
		}
	}
	return ops, nil
}

// stillPending reports whether the pending key, read consistently, still
// names m's stage.
func (s *Store) stillPending(ctx context.Context, m pendingMarker) (bool, error) {
	pair, _, err := s.kv.Get(s.pendingKey, (&api.QueryOptions{RequireConsistent: true}).WithContext(ctx))
	if err != nil {
		if d := s.denied("read", err); d != nil {
			return false, d
		}
		return false, fmt.Errorf("consulstore: read %s: %w", s.pendingKey, err)
	}
	var now pendingMarker
	return pair != nil && json.Unmarshal(pair.Value, &now) == nil && now.Stage == m.Stage, nil
}

// sweep deletes stages left by writes that can no longer commit: staged on
// a revision before rev (their meta check-and-set was made on an older
// meta key), by a writer that stopped or lost a conflict. Best effort.
// Its listing is bounded by the commit timeout, as each step is: ctx has
// no deadline (withoutDeadline), and a Consul that stops answering here
// would hold the write that finished, and every write queued behind it.
func (s *Store) sweep(ctx context.Context, rev uint64) {
	lctx, cancel := context.WithTimeout(ctx, s.timeout)
	keys, _, err := s.kv.Keys(s.stagedRoot, "/", (&api.QueryOptions{}).WithContext(lctx))
	cancel()
	if err != nil {
		return
	}
	for _, k := range keys {
		stage := strings.TrimSuffix(strings.TrimPrefix(k, s.stagedRoot), "/")
		base, _, ok := strings.Cut(stage, "-")
		if n, err := strconv.ParseUint(base, 10, 64); ok && err == nil && n < rev {
			s.dropStage(ctx, stage)
		}
	}
}

// dropStage deletes a stage that will not be committed, best effort: a
// stage left behind is swept by a later large revision.
func (s *Store) dropStage(ctx context.Context, stage string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_, _ = s.kv.DeleteTree(s.stagePrefix(stage), (&api.WriteOptions{}).WithContext(ctx))
}

func (s *Store) stagePrefix(stage string) string { return s.stagedRoot + stage + "/" }

// stagedKey is where the stage keeps the operation on an entity key.
func (s *Store) stagedKey(stage, key string) string {
	return s.stagePrefix(stage) + strings.TrimPrefix(key, s.root)
}
