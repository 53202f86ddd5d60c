package consulstore_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
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
// still be applied".
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
	first := make(chan error, 1)
	go func() { first <- create("first") }() // its group stalls; the next ones gather behind it
	time.Sleep(100 * time.Millisecond)
	const n = 40 // more than one transaction's operations
	errs := make(chan error, n)
	for i := range n {
		go func() { errs <- create(fmt.Sprintf("s%d", i)) }()
	}
	var unknown *consulstore.ErrOutcomeUnknown
	require.ErrorAs(t, <-first, &unknown)
	var sent, notSent int
	for range n {
		err := <-errs
		require.Error(t, err)
		if errors.As(err, &unknown) {
			sent++
		} else {
			assert.Contains(t, err.Error(), "not written: Consul did not answer the write before it")
			notSent++
		}
	}
	t.Logf("of %d writes behind a stalled one: %d sent and unanswered, %d not sent", n, sent, notSent)
	assert.Positive(t, sent, "a batch of the group was sent")
	assert.Positive(t, notSent, "the group's later batches were not")
}
