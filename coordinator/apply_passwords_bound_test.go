package coordinator

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/threescale"
)

// gatedHasher is a password hash that counts the hashes made at once and
// ends none before gate is closed; entered gets one value per hash begun.
type gatedHasher struct {
	mu        sync.Mutex
	now, most int
	entered   chan struct{}
	gate      chan struct{}
}

func (h *gatedHasher) hash(password string) (string, error) {
	h.mu.Lock()
	h.now++
	h.most = max(h.most, h.now)
	h.mu.Unlock()
	h.entered <- struct{}{}
	<-h.gate
	h.mu.Lock()
	h.now--
	h.mu.Unlock()
	return composition.HashPassword(password)
}

func (h *gatedHasher) mostAtOnce() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.most
}

// waitingForHashSlot counts the goroutines waiting for a password hashing
// slot: their stacks are in passwordHasher.acquire.
func waitingForHashSlot() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), ".(*passwordHasher).acquire(")
		}
		buf = make([]byte, 2*len(buf))
	}
}

// accountWithPassword is an Account document of one user with a password.
func accountWithPassword(i int) string {
	return fmt.Sprintf("apiVersion: portolan.dev/v1\nkind: Account\norg_name: Org%d\nusers:\n- {username: u%d, email: u%d@example.com, password: pass-%d}\n", i, i, i, i)
}

// Applies carrying passwords hash them (argon2id, 19 MiB each) a bounded
// number at once across applies: with that many hashing, the others wait
// for a slot, all are applied once slots free, and one whose client goes
// away while it waits gives up.
func TestApplyPasswordHashesAreBoundedAcrossApplies(t *testing.T) {
	c := newApplyCoordinator(t, threescale.Caps{})
	h := &gatedHasher{entered: make(chan struct{}, 64), gate: make(chan struct{})}
	c.decodeSlots.passwords.hashFn = h.hash
	open := sync.OnceFunc(func() { close(h.gate) })
	t.Cleanup(open) // before the store closes
	bound := cap(c.decodeSlots.passwords.slots)
	require.Positive(t, bound)
	n := bound + 3

	answers := make(chan answer, n)
	for i := range n {
		go func() { answers <- postApplyContext(context.Background(), c, accountWithPassword(i)) }()
	}
	// Every apply is hashing or waiting to: without a bound, all of them
	// hash at once.
	entered := 0
	deadline := time.After(2 * time.Minute)
	for entered+waitingForHashSlot() < n {
		select {
		case <-h.entered:
			entered++
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			t.Fatalf("%d applies hashing and %d waiting to, of %d", entered, waitingForHashSlot(), n)
		}
	}
	require.LessOrEqual(t, h.mostAtOnce(), bound, "passwords hashed at once")

	// One more, whose client goes away while it waits for a slot.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	gone := make(chan answer, 1)
	go func() { gone <- postApplyContext(ctx, c, accountWithPassword(n)) }()
	for waitingForHashSlot() < n-bound+1 {
		select {
		case <-deadline:
			t.Fatalf("the last apply never waited for a slot: %d waiting", waitingForHashSlot())
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	select {
	case got := <-gone:
		assert.NotEqual(t, http.StatusOK, got.code, got.body)
	case <-deadline:
		t.Fatal("an apply whose client went away kept waiting for a slot")
	}

	open()
	for range n {
		got := <-answers
		assert.Equal(t, http.StatusOK, got.code, got.body)
	}
	assert.Equal(t, bound, h.mostAtOnce(), "passwords hashed at once, all applies done")
	assert.Equal(t, n, c.store.Snapshot().Users.Len(), "every apply's user, the gone one's not")
}
