package consulstore

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/hashicorp/consul/api"

	"github.com/portolan/portolan/composition"
)

// DefaultMaxTxnBytes is Consul's default txn_max_req_len: the largest
// /v1/txn body it takes (it answers a larger one 413).
const DefaultMaxTxnBytes = 512 << 10

// txnOpBytes bounds what one operation adds to a /v1/txn body besides its
// key and its value in base64: {"KV":{"Verb":"set",...,"Index":N,...},
// "Node":null,...} is 118 bytes with an empty verb, key and value and
// index 0 (TestTxnSizeBoundsTheBody).
const txnOpBytes = 160

// opBytes bounds the size of an operation on key with a value of n bytes in
// a /v1/txn body: Consul's JSON carries values in base64, and keys as Go's
// encoder writes them (consul/api's encodeBody), HTML-escaped: a "<", ">"
// or "&" in the prefix takes six bytes in every key of the body.
func opBytes(key string, n int) int {
	return txnOpBytes + jsonLen(key) + base64.StdEncoding.EncodedLen(n)
}

// jsonLen is the length of s in a JSON body, less its quotes.
func jsonLen(s string) int {
	b, _ := json.Marshal(s) // a string always encodes
	return len(b) - 2
}

// revisionOps is what one revision writes: an operation per entity it
// touched, and a bound on their size in a /v1/txn body.
type revisionOps struct {
	next *composition.Composition
	ops  api.KVTxnOps
	size int
	// large: the revision does not fit one transaction (more than
	// MaxChanges entities, or a body over txn_max_req_len) and is
	// committed staged (staged.go).
	large bool
}

// encode turns the changes making next into KV operations. A revision that
// cannot be one transaction is large, committed in stages (staged.go); only
// an entity whose own operation exceeds Consul's txn_max_req_len (a large
// ActiveDoc) is refused, since no transaction can carry it.
func (s *Store) encode(changes []composition.Change, next *composition.Composition) (revisionOps, error) {
	r := revisionOps{next: next, ops: make(api.KVTxnOps, 0, len(changes)), size: s.metaOpBytes()}
	for _, ch := range changes {
		key := s.key(ch.Kind, ch.ID)
		if ch.Entity == nil {
			r.ops = append(r.ops, &api.KVTxnOp{Verb: api.KVDelete, Key: key})
			r.size += opBytes(key, 0)
			continue
		}
		val, err := json.Marshal(ch.Entity)
		if err != nil {
			return revisionOps{}, fmt.Errorf("consulstore: encode %s/%d: %w", ch.Kind, ch.ID, err)
		}
		// Alone in a transaction it still goes with the meta key's check,
		// under its own key or (staged) a longer one.
		if alone := s.metaOpBytes() + opBytes(key, len(val)) + stagedKeyBytes; alone > s.maxTxn {
			return revisionOps{}, fmt.Errorf("consulstore: revision %d: %w", next.Revision, composition.Invalid("base", fmt.Sprintf(
				"is too large for the Consul store: %s alone would make a Consul transaction of about %d bytes (its value in base64), over Consul's %s txn_max_req_len; "+
					"make it smaller, or raise txn_max_req_len in Consul and the coordinator's --consul-txn-max-req-len with it",
				strings.TrimPrefix(key, s.root), alone, sizeOf(s.maxTxn))))
		}
		r.size += opBytes(key, len(val))
		r.ops = append(r.ops, &api.KVTxnOp{Verb: api.KVSet, Key: key, Value: val})
	}
	r.large = len(r.ops) > MaxChanges || r.size > s.maxTxn
	return r, nil
}

// CheckCommit reports the refusal a commit of changes, making next, would
// answer (an entity too large for any Consul transaction), or nil. It
// writes nothing: a dry run asks it, so that it answers what the commit
// would.
func (s *Store) CheckCommit(changes []composition.Change, next *composition.Composition) error {
	_, err := s.encode(changes, next)
	return err
}

// metaOpBytes bounds the meta key's check-and-set in a /v1/txn body.
func (s *Store) metaOpBytes() int {
	return opBytes(s.metaKey, len(`{"revision":18446744073709551615,"last_id":-9223372036854775808}`))
}

// sizeOf words a byte count as Consul's documentation does ("512 KiB").
func sizeOf(n int) string {
	if n%1024 == 0 {
		return strconv.Itoa(n>>10) + " KiB"
	}
	return strconv.Itoa(n) + " bytes"
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
	size        int                      // a bound on the /v1/txn body of ops and the meta check-and-set
	large       bool                     // one large revision, committed staged (staged.go)
}

func (b *txnBatch) empty() bool { return b.last == nil }

// fits reports whether r can join the batch within Consul's limits, its
// operations and maxBytes (txn_max_req_len). An empty batch takes any
// revision: encode has refused those that cannot be one transaction.
func (b *txnBatch) fits(r revisionOps, maxBytes int) bool {
	if b.empty() {
		return true
	}
	if b.large || r.large {
		return false // a large revision is committed alone
	}
	added := 0
	for _, op := range r.ops {
		if _, ok := b.at[op.Key]; !ok {
			added++
		}
	}
	// r.size counts a meta check-and-set the batch has already counted:
	// a bound, as b.size is.
	return 1+len(b.ops)+added <= MaxTxnOps && b.size+r.size <= maxBytes
}

// add appends r, the revision after b.last (or the first).
func (b *txnBatch) add(r revisionOps) {
	if b.empty() {
		b.first = r.next
		b.at = make(map[string]int, len(r.ops))
	}
	b.last = r.next
	b.large = r.large
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
// ModifyIndex at the revision before it (a large revision: in stages,
// staged.go). It returns *ErrConflict when that revision is no longer the
// newest, and records the new index on success.
func (s *Store) commit(ctx context.Context, b *txnBatch) error {
	base := b.first.Revision - 1
	// A large revision not yet finished (its writer stopped, or Consul
	// failed it midway) is finished before anything is written over it.
	err := s.finish(ctx)
	if errors.Is(err, errMetaMoved) {
		// Finished by another coordinator (or written over since): what
		// Consul holds now tells whether this batch still applies.
		err = s.reload(ctx)
	}
	if err != nil {
		return fmt.Errorf("consulstore: persist %s: %w", b.describe(), err)
	}
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
	if b.large {
		return s.commitLarge(ctx, b, idx, mv)
	}
	ops := make(api.KVTxnOps, 0, len(b.ops)+1)
	ops = append(ops, &api.KVTxnOp{Verb: api.KVCAS, Key: s.metaKey, Value: mv, Index: idx})
	ops = append(ops, b.ops...)
	newIdx, err := s.commitTxn(ctx, b, ops)
	if err != nil {
		return err
	}
	s.remember(b.last.Revision, newIdx)
	s.stored(b.last.Revision)
	return nil
}

// commitTxn sends ops, whose first is the meta key's check-and-set for the
// batch's last revision, and returns the meta key's new ModifyIndex. It
// returns *ErrConflict when the check-and-set failed, *ErrOutcomeUnknown
// when Consul did not answer.
func (s *Store) commitTxn(ctx context.Context, b *txnBatch, ops api.KVTxnOps) (uint64, error) {
	base := b.first.Revision - 1
	ok, resp, err := s.txn(ctx, ops)
	if err != nil {
		if !outcomeKnown(err) {
			return 0, &ErrOutcomeUnknown{What: b.describe(), Err: err}
		}
		var status api.StatusError
		if d := s.denied("write", err); d != nil {
			err = d
		} else if errors.As(err, &status) && status.Code == http.StatusRequestEntityTooLarge {
			err = fmt.Errorf("refused by Consul as too large, nothing written: its txn_max_req_len is below the %s "+
				"the coordinator was told (or its kv_max_value_size below a value): %w", sizeOf(s.maxTxn), err)
		}
		return 0, fmt.Errorf("consulstore: persist %s: %w", b.describe(), err)
	}
	if !ok {
		// A refused token fails the meta check-and-set too: it is no
		// conflict, and a retry would fail the same way.
		if d := s.deniedOp(resp.Errors); d != nil {
			return 0, fmt.Errorf("consulstore: persist %s: %w", b.describe(), d)
		}
		var msgs []string
		for _, e := range resp.Errors {
			if e.OpIndex == 0 {
				return 0, &ErrConflict{Revision: base}
			}
			msgs = append(msgs, fmt.Sprintf("op %d: %s", e.OpIndex, e.What))
		}
		return 0, fmt.Errorf("consulstore: persist %s: transaction rolled back: %s", b.describe(), strings.Join(msgs, "; "))
	}
	newIdx := s.metaIndexIn(resp)
	if newIdx == 0 {
		return 0, fmt.Errorf("consulstore: persist %s: no meta key in the transaction result", b.describe())
	}
	return newIdx, nil
}

// metaIndexIn returns the meta key's ModifyIndex in a transaction's
// results, 0 when it is not there.
func (s *Store) metaIndexIn(resp *api.TxnResponse) uint64 {
	var idx uint64
	for _, r := range resp.Results {
		if r != nil && r.KV != nil && r.KV.Key == s.metaKey {
			idx = r.KV.ModifyIndex
		}
	}
	return idx
}

// txn sends ops as one Consul transaction and reports whether it was
// applied, with Consul's answer: on false, the operations' errors (a failed
// check-and-set, an ACL refusal). consul/api's KV.Txn answers any status
// but 200 and 409 with a plain "Failed request" error, losing it, and the
// store needs it: a 4xx is Consul refusing the transaction, which surely
// did not apply (a 403 names the token, a 413 the size), where a transport
// error may have carried it to Consul (outcomeKnown). Raw keeps it as an
// api.StatusError.
func (s *Store) txn(ctx context.Context, ops api.KVTxnOps) (bool, *api.TxnResponse, error) {
	in := make(api.TxnOps, len(ops))
	for i, op := range ops {
		in[i] = &api.TxnOp{KV: op}
	}
	var out api.TxnResponse
	_, err := s.raw.Write("/v1/txn", in, &out, (&api.WriteOptions{}).WithContext(ctx))
	if err == nil {
		return true, &out, nil
	}
	var status api.StatusError
	if !errors.As(err, &status) || status.Code != http.StatusConflict {
		return false, nil, err
	}
	// Rolled back: the body says which operations failed.
	if derr := json.Unmarshal([]byte(status.Body), &out); derr != nil {
		return false, nil, fmt.Errorf("decode Consul's answer to a transaction rolled back (%v): %w", derr, status)
	}
	return false, &out, nil
}
