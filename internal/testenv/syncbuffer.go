package testenv

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// SyncBuffer is a bytes.Buffer safe for a process writing while a test reads.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Contains reports whether s holds every one of wants within 10 s. A child
// process's output reaches s through a pipe that a goroutine of the test's
// copies, so a line the child wrote before it answered a request may not be
// in s yet when the answer is: a test looking for it must wait.
func (s *SyncBuffer) Contains(t testing.TB, wants ...string) bool {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		out := s.String()
		missing := ""
		for _, w := range wants {
			if !strings.Contains(out, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return true
		}
		if time.Now().After(deadline) {
			t.Errorf("the output does not contain %q:\n%s", missing, out)
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}
