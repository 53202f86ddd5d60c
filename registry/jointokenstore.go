package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"

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
// It is safe for concurrent use.
type JoinTokenStore struct {
	path string // "" keeps the records in memory only
	mu   sync.Mutex
	byID map[string]JoinTokenRecord
}

// joinTokenFile is the file's content.
type joinTokenFile struct {
	Tokens []JoinTokenRecord `json:"tokens"`
}

// OpenJoinTokenStore reads the records kept at path, if any; with path ""
// the store lives in memory only.
func OpenJoinTokenStore(path string) (*JoinTokenStore, error) {
	s := &JoinTokenStore{path: path, byID: map[string]JoinTokenRecord{}}
	if path == "" {
		return s, nil
	}
	b, err := os.ReadFile(path)
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
	s.mu.Lock()
	defer s.mu.Unlock()
	for range 16 {
		tok, err := jointoken.New(pin)
		if err != nil {
			return jointoken.Token{}, err
		}
		if _, taken := s.byID[tok.ID]; taken {
			continue
		}
		rec.ID, rec.Hash = tok.ID, tok.Hash()
		s.byID[tok.ID] = rec
		if err := s.saveLocked(); err != nil {
			delete(s.byID, tok.ID)
			return jointoken.Token{}, err
		}
		return tok, nil
	}
	return jointoken.Token{}, errors.New("join token: no free id after 16 draws")
}

// Update changes the record of the token id with edit and keeps it; the
// record is left as it was when it cannot be saved. It returns the record
// as kept.
func (s *JoinTokenStore) Update(id string, edit func(*JoinTokenRecord)) (JoinTokenRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.byID[id]
	if !ok {
		return JoinTokenRecord{}, ErrUnknownJoinToken
	}
	rec := old
	rec.Labels = maps.Clone(old.Labels)
	edit(&rec)
	s.byID[id] = rec
	if err := s.saveLocked(); err != nil {
		s.byID[id] = old
		return JoinTokenRecord{}, err
	}
	return rec, nil
}

// Remove forgets the token id.
func (s *JoinTokenStore) Remove(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.byID[id]
	if !ok {
		return ErrUnknownJoinToken
	}
	delete(s.byID, id)
	if err := s.saveLocked(); err != nil {
		s.byID[id] = old
		return err
	}
	return nil
}

// saveLocked rewrites the file: a temporary file (0600) synced and renamed
// over the old one, so a crash leaves either the old records or the new.
func (s *JoinTokenStore) saveLocked() error {
	if s.path == "" {
		return nil
	}
	f := joinTokenFile{Tokens: slices.SortedFunc(maps.Values(s.byID), func(a, b JoinTokenRecord) int {
		return a.CreatedAt.Compare(b.CreatedAt)
	})}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("encode join tokens: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.path), ".join_tokens-*")
	if err != nil {
		return fmt.Errorf("save join tokens: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing to remove
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("save join tokens: %w", err)
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("save join tokens: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("save join tokens: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save join tokens: %w", err)
	}
	if err := os.Rename(tmp.Name(), s.path); err != nil {
		return fmt.Errorf("save join tokens: %w", err)
	}
	return nil
}
