package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"
	"sync"

	"github.com/portolan/portolan/internal/atomicfile"
	"github.com/portolan/portolan/internal/pki"
	"github.com/portolan/portolan/registry/jointoken"
)

// JoinTokenFile is the file, in the coordinator's data dir, that keeps the
// join tokens' records (hashes and scopes, never a secret).
const JoinTokenFile = "join_tokens.json"

// JoinTokenStore keeps join token records, by id: in memory, and in a file
// when it has a path. It is its own small store rather than a composition
// kind on purpose: the composition is published to every agent, gossiped,
// exported and revisioned, and join tokens must reach none of those; a
// token's creation must not make every agent fetch a new revision. Tokens
// are few (bounded by MaxJoinTokens), so the file is rewritten whole,
// atomically, on each change.
//
// A coordinator sharing its composition through Consul keeps its own
// tokens: a token registers instances with the home that made it.
//
// It is safe for concurrent use. A change is seen once it is in the file;
// reads never wait for a write to reach the disk, so that registrations,
// which read a token under the registry's lock, do not stall every
// heartbeat behind a slow disk.
type JoinTokenStore struct {
	path string // "" keeps the records in memory only
	// writeMu makes one change at a time, file write included; mu guards
	// byID alone, which a change replaces whole once it is saved.
	writeMu sync.Mutex
	mu      sync.Mutex
	byID    map[string]JoinTokenRecord
	// writeFile replaces the file: atomicfile.Write when nil. Tests hold
	// it to play a slow disk.
	writeFile func(path string, data []byte, perm os.FileMode) error
}

// joinTokenFile is the file's content.
type joinTokenFile struct {
	Tokens []JoinTokenRecord `json:"tokens"`
}

// maxJoinTokenFileBytes bounds the join token file read at start: far
// above what DefaultMaxJoinTokens records take, scopes at their largest.
const maxJoinTokenFileBytes = 64 << 20

// OpenJoinTokenStore reads the records kept at path, if any; with path ""
// the store lives in memory only.
func OpenJoinTokenStore(path string) (*JoinTokenStore, error) {
	s := &JoinTokenStore{path: path, byID: map[string]JoinTokenRecord{}}
	if path == "" {
		return s, nil
	}
	// A regular file, bounded, as home's other state files: a FIFO at the
	// path is refused, not waited on.
	b, err := atomicfile.ReadBounded(path, maxJoinTokenFileBytes)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read join tokens: %w", err)
	}
	var f joinTokenFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("read join tokens from %s: %w (fix or remove the file; its tokens then register nothing)", path, err)
	}
	for _, t := range f.Tokens {
		if err := jointoken.CheckID(t.ID); err != nil {
			return nil, fmt.Errorf("read join tokens from %s: %w", path, err)
		}
		s.byID[t.ID] = t
	}
	return s, nil
}

// Len is the number of tokens kept.
func (s *JoinTokenStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byID)
}

// Get returns the record of the token id.
func (s *JoinTokenStore) Get(id string) (JoinTokenRecord, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.byID[id]
	return t, ok
}

// List returns every record, in no order.
func (s *JoinTokenStore) List() []JoinTokenRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Collect(maps.Values(s.byID))
}

// Add makes a token carrying pin, keeps rec (its ID and Hash set from the
// token) and returns the token. A new id is drawn while the one drawn is
// taken.
func (s *JoinTokenStore) Add(rec JoinTokenRecord, pin pki.Pin) (jointoken.Token, error) {
	var tok jointoken.Token
	err := s.change(func(next map[string]JoinTokenRecord) error {
		for range 16 {
			t, err := jointoken.New(pin)
			if err != nil {
				return err
			}
			if _, taken := next[t.ID]; taken {
				continue
			}
			rec.ID, rec.Hash = t.ID, t.Hash()
			next[t.ID] = rec
			tok = t
			return nil
		}
		return errors.New("join token: no free id after 16 draws")
	})
	return tok, err
}

// Update changes the record of the token id with edit and keeps it; the
// record is left as it was when it cannot be saved. It returns the record
// as kept.
func (s *JoinTokenStore) Update(id string, edit func(*JoinTokenRecord)) (JoinTokenRecord, error) {
	var rec JoinTokenRecord
	err := s.change(func(next map[string]JoinTokenRecord) error {
		old, ok := next[id]
		if !ok {
			return ErrUnknownJoinToken
		}
		rec = old
		rec.Labels = maps.Clone(old.Labels)
		edit(&rec)
		next[id] = rec
		return nil
	})
	if err != nil {
		return JoinTokenRecord{}, err
	}
	return rec, nil
}

// Remove forgets the token id.
func (s *JoinTokenStore) Remove(id string) error {
	return s.change(func(next map[string]JoinTokenRecord) error {
		if _, ok := next[id]; !ok {
			return ErrUnknownJoinToken
		}
		delete(next, id)
		return nil
	})
}

// RemoveAll forgets the tokens of ids that are kept, in one write of the
// file; ids not kept are passed over.
func (s *JoinTokenStore) RemoveAll(ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	return s.change(func(next map[string]JoinTokenRecord) error {
		n := len(next)
		for _, id := range ids {
			delete(next, id)
		}
		if len(next) == n {
			return errNothingChanged
		}
		return nil
	})
}

// errNothingChanged tells change that edit left the records as they were:
// nothing is written.
var errNothingChanged = errors.New("nothing changed")

// change applies edit to a copy of the records, saves the copy and then
// makes it the records kept; when edit or the save fails the records stay
// as they were. Reads go on meanwhile, seeing the records before the
// change until it is saved.
func (s *JoinTokenStore) change(edit func(next map[string]JoinTokenRecord) error) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.mu.Lock()
	next := maps.Clone(s.byID)
	s.mu.Unlock()
	if err := edit(next); err != nil {
		if errors.Is(err, errNothingChanged) {
			return nil
		}
		return err
	}
	if err := s.save(next); err != nil {
		return err
	}
	s.mu.Lock()
	s.byID = next
	s.mu.Unlock()
	return nil
}

// save writes records to the file (0600) with atomicfile, so a crash
// leaves either the old records or the new, and a revocation answered
// does not come back after a power cut. writeMu is held.
func (s *JoinTokenStore) save(records map[string]JoinTokenRecord) error {
	if s.path == "" {
		return nil
	}
	f := joinTokenFile{Tokens: slices.SortedFunc(maps.Values(records), func(a, b JoinTokenRecord) int {
		return a.CreatedAt.Compare(b.CreatedAt)
	})}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("encode join tokens: %w", err)
	}
	write := s.writeFile
	if write == nil {
		write = atomicfile.Write
	}
	if err := write(s.path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("save join tokens: %w", err)
	}
	return nil
}
