// Package consulstore keeps the composition in Consul KV, so several
// coordinators can serve one composition active-active.
//
// Layout, under the configured prefix (default "portolan/"):
//
//	<prefix>composition/<kind>/<id>  one JSON value per entity
//	<prefix>composition/meta         {"revision":N,"last_id":M}
//	<prefix>composition/pending      a large revision not yet finished (staged.go)
//	<prefix>staged/<stage>/…         its changes
//
// Writes are group-committed: the writes that arrive while a transaction is
// in flight share the next one, each validated on the writes before it and
// given its own revision. Every Consul transaction is a check-and-set of the
// meta key on the ModifyIndex it had when this store last read it, then the
// entity sets and deletes of one or more revisions. When another coordinator
// wrote first the transaction fails as a whole and nothing is applied; the
// store reloads the newer composition and runs its writes again on it
// (groupcommit.go), so a write that does not conflict with the winner
// commits and one that does is refused by validation (422), as on one
// coordinator. Only a write that lost every try returns *ErrConflict (HTTP
// 409). A goroutine follows the meta key with blocking queries and
// publishes revisions written elsewhere.
//
// Consul limits a transaction to 64 operations, and the meta CAS takes one,
// and refuses a body over its txn_max_req_len (512 KiB by default, values
// in base64). A group that does not fit one transaction is committed as
// several, in order; a revision that does not fit one alone (an import, an
// image's documents) is staged beside the composition and committed by one
// check-and-set that names the stage, then copied to its keys (staged.go),
// so it stays atomic. Only an entity too large for any transaction (an
// ActiveDoc of about 380 KiB) is refused, as a validation error (422).
//
// With Consul's ACLs the coordinator's token needs key_prefix "<prefix>"
// write (README, Consul ACLs); a token Consul refuses, or one that may read
// only part of the prefix, is ErrDenied (denied.go), never an empty
// composition or a conflict. A key under the prefix the store cannot read
// (someone else wrote it) refuses writes as ErrCorrupt (corrupt.go), naming
// it, never as a conflict to retry.
//
// consulstore imports only composition, internal helpers and the Consul API client: it must
// never import coordinator, threescale or anything that serves HTTP.
package consulstore

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/rs/zerolog"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/composition/storefloor"
	"github.com/portolan/portolan/internal/backoff"
)

// DefaultPrefix is the KV prefix used when Config.Prefix is empty.
const DefaultPrefix = "portolan/"

// MaxTxnOps is Consul's limit on operations in one transaction.
const MaxTxnOps = 64

// MaxChanges is the most entities one transaction may touch: one operation
// of the transaction is the meta check-and-set. A write touching more is
// staged (staged.go).
const MaxChanges = MaxTxnOps - 1

const (
	watchWait   = 5 * time.Minute
	watchMinGap = 50 * time.Millisecond
	retryMin    = 100 * time.Millisecond
	retryMax    = 10 * time.Second
	// DefaultCommitTimeout bounds one commit (its transactions, and the
	// reload after a conflict), and each transaction of a large revision
	// (staged.go), whose size time does not bound: a Consul that stops
	// answering fails the writes waiting on it (ErrOutcomeUnknown) instead
	// of holding them, and every later write, forever.
	DefaultCommitTimeout = 30 * time.Second
)

// Config configures Open.
type Config struct {
	// Client talks to the Consul agent.
	Client *api.Client
	// Prefix is put before every key; default DefaultPrefix.
	Prefix string
	// Logger receives watch errors.
	Logger zerolog.Logger
	// CommitTimeout bounds one commit, and each transaction of a large
	// one; default DefaultCommitTimeout.
	CommitTimeout time.Duration
	// FloorDir keeps this coordinator's floor (storefloor, floor.go): its
	// data dir. Empty: none.
	FloorDir string
	// MaxTxnBytes is Consul's txn_max_req_len: the largest /v1/txn body
	// it takes. A revision whose transaction would be larger is refused
	// before it is sent. Default DefaultMaxTxnBytes, Consul's own default;
	// set it when Consul's is raised.
	MaxTxnBytes int
	// StartEmpty opens an empty Consul over a floor that says it had a
	// composition, above the floor, instead of refusing it.
	StartEmpty bool
}

// ErrConflict is returned by a write whose base revision was no longer the
// newest on every try (conflictTries): other coordinators kept writing
// first. Nothing was written; the store has loaded the newer composition,
// so the write can be retried.
type ErrConflict struct {
	// Revision is the revision the write was based on.
	Revision uint64
}

func (e *ErrConflict) Error() string {
	return fmt.Sprintf("composition changed underneath (revision %d is no longer the newest: another coordinator wrote first); retry the write", e.Revision)
}

// HTTPStatus maps the conflict to 409 Conflict.
func (e *ErrConflict) HTTPStatus() int { return 409 }

// Store is a composition.Store on Consul KV.
type Store struct {
	*composition.Head

	kv         *api.KV
	raw        *api.Raw // transactions (txn.go)
	root       string   // <prefix>composition/
	metaKey    string
	pendingKey string // <root>pending: a large revision not yet finished (staged.go)
	stagedRoot string // <prefix>staged/: large revisions' changes (staged.go)
	log        zerolog.Logger
	timeout    time.Duration // a commit's (Config.CommitTimeout)
	maxTxn     int           // Consul's txn_max_req_len (Config.MaxTxnBytes)

	// mu guards the newest state this store knows is in Consul: its revision
	// and the meta key's ModifyIndex at that revision (0: no meta key yet).
	mu        sync.Mutex
	knownRev  uint64
	metaIndex uint64
	pending   *pendingState      // the known revision is large and not yet finished (staged.go)
	behind    *ErrBehind         // Consul holds an older composition than the published one (behind.go)
	corrupt   *ErrCorrupt        // Consul holds a key this store cannot read (corrupt.go)
	floor     *storefloor.Keeper // nil without Config.FloorDir (floor.go)

	group     *composition.GroupCommit
	cancel    context.CancelFunc
	done      chan struct{} // closed when watch returns
	closeOnce sync.Once
	closeErr  error
}

var _ composition.Store = (*Store)(nil)

type meta struct {
	Revision uint64 `json:"revision"`
	LastID   int64  `json:"last_id"`
	// Staged: the revision is large and not yet finished (staged.go). It
	// makes the finish change the meta key's value, which Consul needs to
	// move its ModifyIndex, so that other coordinators see it.
	Staged bool `json:"staged,omitempty"`
}

// Open loads the composition from Consul and starts following it.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Client == nil {
		return nil, errors.New("consulstore: no Consul client")
	}
	prefix := cfg.Prefix
	if prefix == "" {
		prefix = DefaultPrefix
	}
	root := prefix + "composition/"
	s := &Store{
		kv:         cfg.Client.KV(),
		raw:        cfg.Client.Raw(),
		root:       root,
		metaKey:    root + "meta",
		pendingKey: root + "pending",
		stagedRoot: prefix + "staged/",
		log:        cfg.Logger,
		timeout:    cmp.Or(cfg.CommitTimeout, DefaultCommitTimeout),
		maxTxn:     cmp.Or(cfg.MaxTxnBytes, DefaultMaxTxnBytes),

		done: make(chan struct{}),
	}
	c, idx, err := s.loadFinished(ctx)
	if err != nil {
		return nil, err
	}
	if cfg.FloorDir != "" {
		if idx, err = s.openFloor(ctx, cfg.FloorDir, c, idx, cfg.StartEmpty); err != nil {
			return nil, err
		}
	}
	s.knownRev, s.metaIndex = c.Revision, idx
	s.Head = composition.NewHead(c, s.persist, nil)
	wctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go s.watch(wctx)
	s.group = composition.StartGroupCommit(maxGroup, s.commitGroup)
	return s, nil
}

// remember records (rev, idx), a revision this store committed in one
// transaction, as the newest known state unless a newer one is known
// already. Nothing is pending then: a commit finishes any large revision
// before it writes, and a pending state recorded meanwhile is older.
func (s *Store) remember(rev, idx uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rev > s.knownRev || (rev == s.knownRev && idx > s.metaIndex) {
		s.knownRev, s.metaIndex, s.pending = rev, idx, nil
	}
}

// loaded records (rev, idx) read consistently by reload: Consul's newest
// state when it was read. Its index is trusted even when it is lower than
// the one known for the same revision: Consul was rebuilt (a new Raft log)
// and the same composition put back (consul kv import) at lower indexes,
// and a check-and-set on the old index would fail, every write a conflict,
// forever. An older revision is not recorded: a read that began before this
// store's own commit, or a Consul that lost revisions (behind.go).
func (s *Store) loaded(rev, idx uint64, p *pendingState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rev >= s.knownRev {
		s.knownRev, s.metaIndex, s.pending = rev, idx, p
	}
}

// pendingAt reports whether this store knows revision rev as a large one
// not yet finished: its finish moves the meta key without a new revision.
func (s *Store) pendingAt(rev uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pending != nil && s.pending.marker.Revision == rev
}

// wrote reports whether this store's own commit wrote the meta key at idx,
// revision rev: the committer publishes that revision itself, so the watch
// need not load the whole composition again for it.
func (s *Store) wrote(rev, idx uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return rev == s.knownRev && idx == s.metaIndex
}

// reload loads the composition from Consul and publishes it when newer.
func (s *Store) reload(ctx context.Context) error {
	held := s.Head.Snapshot().Revision
	c, idx, p, err := s.load(ctx)
	s.noteCorrupt(err)
	if err != nil {
		return err
	}
	if err := s.checkBehind(c.Revision, held); err != nil {
		return err
	}
	if c.Revision > held {
		if err := s.reserve(c); err != nil {
			// Followed all the same: refusing others' writes would be worse
			// than a floor that does not bound this one.
			s.log.Error().Err(err).Msg("consulstore: floor")
		}
	}
	s.loaded(c.Revision, idx, p)
	s.Head.Publish(c)
	s.stored(c.Revision)
	return nil
}

// Sync loads the newest composition from Consul with a consistent read and
// publishes it when newer: a reader that must not act on a revision older
// than Consul's (a coordinator taking over webhook delivery, which would
// otherwise resend what the previous one just delivered) calls it first.
func (s *Store) Sync(ctx context.Context) error { return s.reload(ctx) }

// watch follows the meta key with blocking queries and publishes revisions
// written by other coordinators.
func (s *Store) watch(ctx context.Context) {
	defer close(s.done)
	var waitIndex uint64
	retry := backoff.Backoff{Min: retryMin, Max: retryMax}
	var last time.Time
	for {
		if !backoff.Sleep(ctx, watchMinGap-time.Since(last)) {
			return
		}
		last = time.Now()
		pair, qm, err := s.kv.Get(s.metaKey, (&api.QueryOptions{WaitIndex: waitIndex, WaitTime: watchWait}).WithContext(ctx))
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			if denied := s.denied("read", err); denied != nil {
				err = denied
			}
			// Consul may come back with a new Raft log at lower indexes
			// (restarted, rebuilt): it would hold a query on the old index
			// for the whole wait.
			waitIndex = 0
			d := retry.Next()
			s.log.Warn().Err(err).Dur("retry_in", d).Msg("consulstore: watch composition meta")
			if !backoff.Sleep(ctx, d) {
				return
			}
			continue
		}
		retry.Reset()
		switch {
		case qm.LastIndex < waitIndex:
			waitIndex = 0 // the index went backwards: start over
		case qm.LastIndex == waitIndex:
			continue
		default:
			waitIndex = qm.LastIndex
		}
		var m meta // no meta key: revision 0
		if pair != nil {
			if err := json.Unmarshal(pair.Value, &m); err != nil {
				// reload records (and logs) it: writes are refused until
				// it is fixed.
				_ = s.reload(ctx)
				continue
			}
		}
		held := s.Head.Snapshot().Revision
		if m.Revision < held || (m.Revision == held && (s.Err() != nil || s.unreadable() != nil)) {
			// Consul lost revisions, or (this answer predating one of
			// this store's writes) merely looks so: a consistent reload
			// tells (reload, behind.go), and clears a loss restored or
			// a key fixed (corrupt.go).
			if err := s.reload(ctx); err != nil && ctx.Err() == nil && !errors.As(err, new(*ErrBehind)) && !errors.As(err, new(*ErrCorrupt)) {
				s.log.Warn().Err(err).Msg("consulstore: reload composition")
			}
			continue
		}
		if (m.Revision == held && !s.pendingAt(held)) || s.wrote(m.Revision, pair.ModifyIndex) {
			continue
		}
		if err := s.reload(ctx); err != nil && ctx.Err() == nil {
			if !errors.As(err, new(*ErrCorrupt)) { // logged once by reload
				s.log.Warn().Err(err).Msg("consulstore: reload composition")
			}
			waitIndex = 0 // retry the reload on the next round
			if !retry.Wait(ctx) {
				return
			}
		}
	}
}

// Close refuses further writes, waits for the commit in flight, stops
// following Consul and closes the head.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.group.Close()
		s.cancel()
		<-s.done
		last := s.Head.Snapshot()
		s.Head.Close()
		if s.floor != nil {
			// Closed whole: the next open goes on from the exact revision.
			if err := s.floor.Close(last); err != nil {
				s.closeErr = fmt.Errorf("close composition store: %w", err)
			}
		}
	})
	return s.closeErr
}
