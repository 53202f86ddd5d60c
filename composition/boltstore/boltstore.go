// Package boltstore keeps the composition in an embedded bbolt file: one bucket
// per kind, one key per entity, and a meta bucket with the revision. Writes
// are group-committed: concurrent writes share one bbolt transaction, each
// with its own revision, fsynced before any of them is acknowledged, so a
// crash never loses an acknowledged write nor leaves half of one.
//
// Beside the file, composition.floor keeps the store from going back: a
// composition.db restored from a backup resumes above every revision and
// id it handed out, and a lost one is refused (storefloor).
//
// boltstore imports only composition, storefloor, bbolt and
// internal/boltguard: it
// must never import coordinator, threescale or anything that serves HTTP.
package boltstore

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/composition/storefloor"
	"github.com/portolan/portolan/internal/boltguard"
)

// FileName is the store's file inside the data directory.
const FileName = "composition.db"

var (
	metaBucket  = []byte("meta")
	revisionKey = []byte("revision")
	lastIDKey   = []byte("last_id")
	formatKey   = []byte("format")
)

const formatVersion = "1"

// Store is a composition.Store on bbolt.
type Store struct {
	*composition.Head
	db    *bolt.DB
	floor *storefloor.Keeper // the revision and id it may have reached

	group     *composition.GroupCommit
	closeOnce sync.Once
	closeErr  error
}

var _ composition.Store = (*Store)(nil)

// Options are OpenWith's.
type Options struct {
	// StartEmpty starts a store whose file was lost (empty beside a floor
	// that says it had content) empty, above the floor, instead of
	// refusing it (storefloor.Open).
	StartEmpty bool
}

// Open opens (or creates) the store in dir. It fails fast when another process
// holds the file.
func Open(dir string) (*Store, error) { return OpenWith(dir, Options{}) }

// OpenWith is Open with opts.
func OpenWith(dir string, opts Options) (*Store, error) {
	path := filepath.Join(dir, FileName)
	var db *bolt.DB
	err := boltguard.Guard(func() (err error) {
		db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
		return err
	})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("open %s: locked by another process", path)
		}
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	var c *composition.Composition
	if err := boltguard.Guard(func() (err error) { c, err = load(db); return err }); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	fileRevision, fileLastID := c.Revision, c.LastID
	floors, err := storefloor.Open(dir, c, path, opts.StartEmpty)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	if c.Revision != fileRevision || c.LastID != fileLastID {
		// Raised by the floor (a crash, a restored backup): the file says
		// so before anything is published at the raised revision, so
		// that a home reading composition.db alone (one that predates
		// the floor, after a rollback) never goes back below the
		// revision agents hold, nor reuses an id.
		if err := db.Update(func(btx *bolt.Tx) error { return putMeta(btx.Bucket(metaBucket), c) }); err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("raise %s to revision %d: %w", path, c.Revision, err)
		}
	}
	s := &Store{db: db, floor: floors}
	s.Head = composition.NewHead(c, s.persist, nil)
	s.group = composition.StartGroupCommit(maxGroup, s.commitGroup)
	return s, nil
}

func load(db *bolt.DB) (*composition.Composition, error) {
	c := composition.New()
	err := db.Update(func(btx *bolt.Tx) error {
		meta, err := btx.CreateBucketIfNotExists(metaBucket)
		if err != nil {
			return err
		}
		if f := meta.Get(formatKey); f == nil {
			if err := meta.Put(formatKey, []byte(formatVersion)); err != nil {
				return err
			}
		} else if string(f) != formatVersion {
			return fmt.Errorf("unsupported store format %q (want %s)", f, formatVersion)
		}
		if v := meta.Get(revisionKey); v != nil {
			c.Revision = binary.BigEndian.Uint64(v)
		}
		if v := meta.Get(lastIDKey); v != nil {
			c.LastID = int64(binary.BigEndian.Uint64(v))
		}
		for _, k := range composition.Kinds {
			b, err := btx.CreateBucketIfNotExists([]byte(k))
			if err != nil {
				return err
			}
			if err := b.ForEach(func(key, val []byte) error {
				e, err := composition.DecodeEntity(k, val)
				if err != nil {
					return fmt.Errorf("%s/%d: %w", k, binary.BigEndian.Uint64(key), err)
				}
				c.Restore(k, e)
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	c.Seal()
	return c, nil
}

// persist is the Head's PersistFunc: one revision alone (Head.Update; the
// store's own Update group-commits).
func (s *Store) persist(_ context.Context, changes []composition.Change, next *composition.Composition) error {
	return s.persistGroup([]revision{{changes: changes, next: next}})
}

// persistGroup writes revisions, in order, in one fsynced transaction.
func (s *Store) persistGroup(revs []revision) error {
	last := revs[len(revs)-1].next
	if err := s.floor.Reserve(last); err != nil {
		return fmt.Errorf("persist revision %d: %w", revs[0].next.Revision, err)
	}
	err := s.db.Update(func(btx *bolt.Tx) error {
		for _, r := range revs {
			if err := writeChanges(btx, r.changes); err != nil {
				return fmt.Errorf("revision %d: %w", r.next.Revision, err)
			}
		}
		return putMeta(btx.Bucket(metaBucket), last)
	})
	if err != nil {
		if len(revs) == 1 {
			return fmt.Errorf("persist revision %d: %w", last.Revision, err)
		}
		return fmt.Errorf("persist revisions %d to %d: %w", revs[0].next.Revision, last.Revision, err)
	}
	// The revisions are stored whatever comes of this: a floor that could
	// not say so (a full disk) only leaves a lost file unrefused, and the
	// next write tries again.
	_ = s.floor.Stored(last.Revision)
	return nil
}

// putMeta records c's revision and last id in the meta bucket.
func putMeta(meta *bolt.Bucket, c *composition.Composition) error {
	if err := meta.Put(revisionKey, idKey(int64(c.Revision))); err != nil {
		return err
	}
	return meta.Put(lastIDKey, idKey(c.LastID))
}

func writeChanges(btx *bolt.Tx, changes []composition.Change) error {
	for _, ch := range changes {
		b := btx.Bucket([]byte(ch.Kind))
		key := idKey(ch.ID)
		if ch.Entity == nil {
			if err := b.Delete(key); err != nil {
				return err
			}
			continue
		}
		val, err := json.Marshal(ch.Entity)
		if err != nil {
			return fmt.Errorf("encode %s/%d: %w", ch.Kind, ch.ID, err)
		}
		if err := b.Put(key, val); err != nil {
			return err
		}
	}
	return nil
}

// Close stops the store and closes the file.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.group.Close()
		last := s.Head.Snapshot()
		s.Head.Close()
		if err := s.db.Close(); err != nil {
			s.closeErr = fmt.Errorf("close composition store: %w", err)
			return
		}
		// Closed whole: the next open goes on from the exact revision.
		if err := s.floor.Close(last); err != nil {
			s.closeErr = fmt.Errorf("close composition store: %w", err)
		}
	})
	return s.closeErr
}

func idKey(id int64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, uint64(id))
	return b
}
