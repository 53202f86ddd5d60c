package boltstore

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

func newWrite(ctx context.Context, fn func(*composition.Tx) error) *write {
	return &write{ctx: ctx, fn: fn, done: make(chan writeResult, 1)}
}

func createService(name string) func(*composition.Tx) error {
	return func(tx *composition.Tx) error {
		return tx.Create(&composition.Service{Name: name, SystemName: name})
	}
}

// One group, in order: each write sees those before it, gets its own
// revision, and fails alone.
func TestCommitGroupInOrder(t *testing.T) {
	s, err := Open(t.TempDir())
	require.NoError(t, err)
	defer s.Close()
	base := s.Snapshot().Revision
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	boom := errors.New("boom")
	var sawFirst bool
	group := []*write{
		newWrite(context.Background(), createService("first")),
		newWrite(context.Background(), createService("first")), // conflicts with the write before it
		newWrite(context.Background(), func(tx *composition.Tx) error {
			_, sawFirst = tx.View().ServiceBySystemName("first")
			return boom
		}),
		newWrite(cancelled, createService("cancelled")),
		newWrite(context.Background(), func(*composition.Tx) error { panic("in a group") }),
		newWrite(context.Background(), func(*composition.Tx) error { return nil }),
		newWrite(context.Background(), createService("second")),
	}
	s.commitGroup(group)
	res := make([]writeResult, len(group))
	for i, w := range group {
		res[i] = <-w.done
	}
	require.NoError(t, res[0].err)
	assert.Equal(t, base+1, res[0].snap.Revision)
	assert.Error(t, res[1].err, "the second create of first conflicts with the first")
	assert.ErrorIs(t, res[2].err, boom)
	assert.True(t, sawFirst, "a write sees the writes before it in its group")
	assert.ErrorIs(t, res[3].err, context.Canceled)
	assert.Equal(t, "in a group", res[4].panicked)
	require.NoError(t, res[5].err)
	assert.Equal(t, base+1, res[5].snap.Revision, "a write that changes nothing answers the state it saw")
	require.NoError(t, res[6].err)
	assert.Equal(t, base+2, res[6].snap.Revision)
	assert.Equal(t, base+2, s.Snapshot().Revision, "the group's last revision is published")
}

// When the group's transaction fails, every write in it fails, nothing is
// published, and writes that failed alone keep their own error.
func TestCommitGroupFailedTransaction(t *testing.T) {
	s, err := Open(t.TempDir())
	require.NoError(t, err)
	before := s.Snapshot()
	require.NoError(t, s.db.Close()) // the next transaction fails
	boom := errors.New("boom")
	group := []*write{
		newWrite(context.Background(), createService("a")),
		newWrite(context.Background(), func(*composition.Tx) error { return boom }),
		newWrite(context.Background(), func(*composition.Tx) error { return nil }),
		newWrite(context.Background(), createService("b")),
	}
	s.commitGroup(group)
	for i, w := range group {
		r := <-w.done
		assert.Error(t, r.err, "write %d", i)
		assert.Nil(t, r.snap, "write %d", i)
		if i == 1 {
			assert.ErrorIs(t, r.err, boom)
		}
	}
	assert.Same(t, before, s.Snapshot(), "nothing published")
	_ = s.Close()
}
