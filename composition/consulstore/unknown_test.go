package consulstore_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/composition/consulstore"
	"github.com/portolan/portolan/internal/testenv"
)

// A write whose transaction went to a Consul that then answered nothing
// (paused: it has the request, and may apply it once it goes on) is
// answered 504 saying it may still be applied, not 500 as if it had failed:
// a client that retried at once could find its own write ("name taken"), or
// apply a write that is not idempotent twice. Once Consul answers again the
// store goes on, holding whatever Consul applied.
func TestWriteToAStalledConsulHasAnUnknownOutcome(t *testing.T) {
	c := testenv.StartConsul(t)
	cl := newClient(t, c)
	s, err := consulstore.Open(context.Background(), consulstore.Config{Client: cl, Prefix: prefix, Logger: zerolog.Nop(),
		CommitTimeout: time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	create := func(name string) error {
		_, err := s.Update(context.Background(), func(tx *composition.Tx) error {
			return tx.Create(&composition.Service{Name: name})
		})
		return err
	}
	require.NoError(t, create("before"))

	c.Pause()
	err = create("stalled")
	var unknown *consulstore.ErrOutcomeUnknown
	require.ErrorAs(t, err, &unknown, "%v", err)
	assert.Equal(t, http.StatusGatewayTimeout, unknown.HTTPStatus())
	assert.Contains(t, err.Error(), "may still be applied; read the composition before retrying")
	c.Resume()

	// The next write lands, on whatever Consul applied (a conflict first
	// when the stalled one did: the store then loads it).
	require.Eventually(t, func() bool {
		err := create("after")
		var conflict *consulstore.ErrConflict
		require.True(t, err == nil || errors.As(err, &conflict) || errors.As(err, &unknown), "%v", err)
		return err == nil
	}, 20*time.Second, 100*time.Millisecond)
	_, ok := s.Snapshot().ServiceBySystemName("after")
	assert.True(t, ok)
}

// Of a group too large for one transaction, the writes after a batch Consul
// did not answer were never sent: they fail as not written, not as "may
// still be applied", and Consul never holds them; the batch that was sent
// applies whole or not at all.
func TestWritesAfterAStalledBatchAreNotWritten(t *testing.T) {
	c := testenv.StartConsul(t)
	s, err := consulstore.Open(context.Background(), consulstore.Config{Client: newClient(t, c), Prefix: prefix, Logger: zerolog.Nop(),
		CommitTimeout: 500 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	create := func(name string) error {
		_, err := s.Update(context.Background(), func(tx *composition.Tx) error {
			return tx.Create(&composition.Service{Name: name})
		})
		return err
	}
	c.Pause()

	// A write that waits in its fn holds the committer while the others
	// queue, one at a time so that the queue is in their order; it then
	// fails alone, sending nothing, and the committer takes them all as one
	// group.
	entered, release := make(chan struct{}), make(chan struct{})
	var releaseOnce sync.Once
	t.Cleanup(func() { releaseOnce.Do(func() { close(release) }) }) // before s.Close, which waits for the group
	errHeld := errors.New("held the committer")
	held := make(chan error, 1)
	go func() {
		_, err := s.Update(context.Background(), func(*composition.Tx) error {
			close(entered)
			<-release
			return errHeld
		})
		held <- err
	}()
	<-entered
	const n = 40 // more than one transaction's operations
	errs := make([]chan error, n)
	for i := range n {
		errs[i] = make(chan error, 1)
		go func() { errs[i] <- create(fmt.Sprintf("s%d", i)) }()
		require.Eventually(t, func() bool { return queuedWrites() == i+1 }, 10*time.Second, time.Millisecond,
			"write s%d never queued behind the held committer", i)
	}
	releaseOnce.Do(func() { close(release) })
	require.ErrorIs(t, <-held, errHeld)

	// The group's first batch went to the paused Consul; every write after
	// it was answered without being sent.
	sent := 0
	for i := range n {
		err := <-errs[i]
		require.Error(t, err, "s%d was answered by a paused Consul", i)
		var unknown *consulstore.ErrOutcomeUnknown
		if errors.As(err, &unknown) {
			require.Equal(t, i, sent, "s%d was sent after a write that was not: %v", i, err)
			sent++
			continue
		}
		assert.Contains(t, err.Error(), "not written: Consul did not answer the write before it", "s%d", i)
	}
	t.Logf("of %d writes in a group: %d sent and unanswered, %d not sent", n, sent, n-sent)
	assert.Positive(t, sent, "a batch of the group was sent")
	assert.Less(t, sent, n, "the group's later batches were not")

	// Once Consul goes on it may apply the batch it had received, never
	// the writes after it.
	c.Resume()
	require.NoError(t, s.Sync(context.Background()))
	snap := s.Snapshot()
	landed := 0
	for i := range n {
		_, ok := snap.ServiceBySystemName(fmt.Sprintf("s%d", i))
		if i >= sent {
			assert.False(t, ok, "s%d was not sent, yet Consul holds it", i)
		} else if ok {
			landed++
		}
	}
	assert.Contains(t, []int{0, sent}, landed, "of the stalled batch's %d writes Consul holds %d: a batch is one transaction", sent, landed)
}

// queuedWrites counts the goroutines waiting in GroupCommit.Update to hand
// a write to the committer: the writes it takes as one group once free.
// Seen from outside, a goroutine started is not yet a write queued.
func queuedWrites() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	queued := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		head, frames, _ := strings.Cut(g, "\n")
		if strings.Contains(head, "[select") &&
			strings.HasPrefix(frames, "github.com/portolan/portolan/composition.(*GroupCommit).Update(") {
			queued++
		}
	}
	return queued
}

// A transaction Consul answers with a refusal (here 413: a store told Consul
// takes more than its txn_max_req_len) surely did not apply: it is not told
// as an unknown outcome, and Consul's words reach the caller.
func TestRefusedTransactionIsNotAnUnknownOutcome(t *testing.T) {
	cl := newClient(t, testenv.StartConsul(t))
	s, err := consulstore.Open(context.Background(), consulstore.Config{Client: cl, Prefix: prefix, Logger: zerolog.Nop(),
		MaxTxnBytes: 8 << 20})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	body := `{"openapi":"3.0.0","info":{"title":"Big","version":"1","description":"` + strings.Repeat("a", 600<<10) + `"},"paths":{}}`
	_, err = s.Update(context.Background(), func(tx *composition.Tx) error {
		return tx.Create(&composition.ActiveDoc{Name: "Big", Body: body})
	})
	require.Error(t, err)
	var unknown *consulstore.ErrOutcomeUnknown
	assert.False(t, errors.As(err, &unknown), "Consul answered 413 and applied nothing, yet: %v", err)
	assert.Contains(t, err.Error(), "413")
	assert.Contains(t, err.Error(), "txn_max_req_len")
	assert.EqualValues(t, 0, s.Snapshot().Revision)
}
