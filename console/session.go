package console

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"sync"
	"time"
)

// Session bounds: the table holds at most sessionCap sessions, each lives at
// most sessionMaxAge and dies after sessionIdle without a request. A full
// table evicts the oldest session of the token holding the most, so
// logging in always works and a flood of logins costs a bounded amount of
// memory. One access token (configured
// tokens count as one) holds at most maxTokenSessions: its next login
// evicts its own oldest, so a token's holder logging in again and again
// cannot sign the other operators out.
const (
	sessionCap       = 1024
	maxTokenSessions = sessionCap / 4
	sessionMaxAge    = 12 * time.Hour
	sessionIdle      = 30 * time.Minute
	sessionCookie    = "portolan_session"
	secretBytes      = 32
)

// session is one signed-in browser. Its id is never stored: the table is
// keyed by the id's SHA-256, so a memory dump or a timing of the map lookup
// reveals nothing an attacker can present.
type session struct {
	csrf     string // the token every form of the session posts back
	tokenID  int64  // the stored access token it logged in with; 0 for a configured one
	created  time.Time
	lastSeen time.Time
	streams  int // its open event streams (openStream)
	// ended is closed when the session leaves the table (logout, a new
	// login, eviction, pruning), so its open event streams end at once
	// rather than at their next heartbeat.
	ended chan struct{}
}

// sessions is the bounded in-memory session table.
type sessions struct {
	mu            sync.Mutex
	byDigest      map[[sha256.Size]byte]*session
	tokenSessions map[int64]int // sessions by the access token they logged in with
	tokenStreams  map[int64]int // open event streams by the access token their session logged in with
}

func newSessions() *sessions {
	return &sessions{byDigest: map[[sha256.Size]byte]*session{}, tokenSessions: map[int64]int{}, tokenStreams: map[int64]int{}}
}

// randomSecret returns secretBytes random bytes, URL-safe base64.
func randomSecret() string {
	b := make([]byte, secretBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// create starts a session at now for a login with the stored access token
// tokenID (0 for a configured token) and returns its id (for the cookie)
// and its CSRF token.
func (s *sessions) create(now time.Time, tokenID int64) (id, csrf string) {
	id, csrf = randomSecret(), randomSecret()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruneLocked(now)
	if s.tokenSessions[tokenID] >= maxTokenSessions {
		s.evictOldestLocked(func(ss *session) bool { return ss.tokenID == tokenID })
	} else if len(s.byDigest) >= sessionCap {
		busiest := s.busiestTokenLocked()
		s.evictOldestLocked(func(ss *session) bool { return ss.tokenID == busiest })
	}
	s.byDigest[sha256.Sum256([]byte(id))] = &session{csrf: csrf, tokenID: tokenID, created: now, lastSeen: now, ended: make(chan struct{})}
	s.tokenSessions[tokenID]++
	return id, csrf
}

// lookup returns the live session id names and marks it seen at now; ok
// is false for an unknown, expired or idle session.
func (s *sessions) lookup(id string, now time.Time) (ss session, ok bool) {
	if id == "" {
		return session{}, false
	}
	d := sha256.Sum256([]byte(id))
	s.mu.Lock()
	defer s.mu.Unlock()
	found, hit := s.byDigest[d]
	if !hit {
		return session{}, false
	}
	if !found.live(now) {
		s.deleteLocked(d)
		return session{}, false
	}
	found.lastSeen = now
	return *found, true
}

// peek returns the live session id names without counting as activity:
// an open event stream does not keep an idle session alive.
func (s *sessions) peek(id string, now time.Time) (session, bool) {
	d := sha256.Sum256([]byte(id))
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, hit := s.byDigest[d]
	if !hit || !ss.live(now) {
		return session{}, false
	}
	return *ss, true
}

// openStream counts one more open event stream of the live session id
// names, and of the access token it logged in with; false when the session
// is not live, holds maxSessionStreams already, or its token
// maxTokenStreams (logging in is free, so a token's holder could open
// sessions until every stream of the console's maxStreams is theirs). It
// returns the token, for closeStream, which undoes it, and the channel
// closed when the session ends.
func (s *sessions) openStream(id string, now time.Time) (tokenID int64, ended <-chan struct{}, ok bool) {
	d := sha256.Sum256([]byte(id))
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, hit := s.byDigest[d]
	if !hit || !ss.live(now) || ss.streams >= maxSessionStreams || s.tokenStreams[ss.tokenID] >= maxTokenStreams {
		return 0, nil, false
	}
	ss.streams++
	s.tokenStreams[ss.tokenID]++
	return ss.tokenID, ss.ended, true
}

// closeStream ends what openStream counted, the session's share only if it
// is still there.
func (s *sessions) closeStream(id string, tokenID int64) {
	d := sha256.Sum256([]byte(id))
	s.mu.Lock()
	defer s.mu.Unlock()
	if ss, hit := s.byDigest[d]; hit && ss.streams > 0 {
		ss.streams--
	}
	if s.tokenStreams[tokenID]--; s.tokenStreams[tokenID] <= 0 {
		delete(s.tokenStreams, tokenID)
	}
}

// remove ends the session id names.
func (s *sessions) remove(id string) {
	d := sha256.Sum256([]byte(id))
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deleteLocked(d)
}

// deleteLocked drops the session of digest d, ending its streams.
func (s *sessions) deleteLocked(d [sha256.Size]byte) {
	if ss, hit := s.byDigest[d]; hit {
		close(ss.ended)
		delete(s.byDigest, d)
		if s.tokenSessions[ss.tokenID]--; s.tokenSessions[ss.tokenID] <= 0 {
			delete(s.tokenSessions, ss.tokenID)
		}
	}
}

// len returns how many sessions the table holds.
func (s *sessions) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byDigest)
}

func (ss *session) live(now time.Time) bool {
	return now.Sub(ss.created) < sessionMaxAge && now.Sub(ss.lastSeen) < sessionIdle
}

// pruneLocked drops the dead sessions; it runs only when the table is
// full, so a login costs a scan of at most sessionCap entries.
func (s *sessions) pruneLocked(now time.Time) {
	if len(s.byDigest) < sessionCap {
		return
	}
	for d, ss := range s.byDigest {
		if !ss.live(now) {
			s.deleteLocked(d)
		}
	}
}

// busiestTokenLocked is the access token holding the most sessions (of
// those tied, the lowest id): a full table makes room from it, so that
// other tokens' logins never end the session of an operator signed in
// once.
func (s *sessions) busiestTokenLocked() int64 {
	var busiest int64
	most := 0
	for tok, n := range s.tokenSessions {
		if n > most || (n == most && tok < busiest) {
			busiest, most = tok, n
		}
	}
	return busiest
}

// evictOldestLocked ends the oldest session of those which picks.
func (s *sessions) evictOldestLocked(which func(*session) bool) {
	var oldest [sha256.Size]byte
	var at time.Time
	first := true
	for d, ss := range s.byDigest {
		if which(ss) && (first || ss.created.Before(at)) {
			oldest, at, first = d, ss.created, false
		}
	}
	s.deleteLocked(oldest)
}

// sameSecret compares a presented secret with the expected one in constant
// time.
func sameSecret(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}
