package boltstore

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

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
	group := []*composition.Write{
		composition.NewWrite(context.Background(), createService("first")),
		composition.NewWrite(context.Background(), createService("first")), // conflicts with the write before it
		composition.NewWrite(context.Background(), func(tx *composition.Tx) error {
			_, sawFirst = tx.View().ServiceBySystemName("first")
			return boom
		}),
		composition.NewWrite(cancelled, createService("cancelled")),
		composition.NewWrite(context.Background(), func(*composition.Tx) error { panic("in a group") }),
		composition.NewWrite(context.Background(), func(*composition.Tx) error { return nil }),
		composition.NewWrite(context.Background(), createService("second")),
	}
	s.commitGroup(group)
	res := make([]composition.WriteResult, len(group))
	for i, w := range group {
		res[i] = w.Wait()
	}
	require.NoError(t, res[0].Err)
	assert.Equal(t, base+1, res[0].Snap.Revision)
	assert.Error(t, res[1].Err, "the second create of first conflicts with the first")
	assert.ErrorIs(t, res[2].Err, boom)
	assert.True(t, sawFirst, "a write sees the writes before it in its group")
	assert.ErrorIs(t, res[3].Err, context.Canceled)
	assert.Equal(t, "in a group", res[4].Panicked)
	require.NoError(t, res[5].Err)
	assert.Equal(t, base+1, res[5].Snap.Revision, "a write that changes nothing answers the state it saw")
	require.NoError(t, res[6].Err)
	assert.Equal(t, base+2, res[6].Snap.Revision)
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
	group := []*composition.Write{
		composition.NewWrite(context.Background(), createService("a")),
		composition.NewWrite(context.Background(), func(*composition.Tx) error { return boom }),
		composition.NewWrite(context.Background(), func(*composition.Tx) error { return nil }),
		composition.NewWrite(context.Background(), createService("b")),
	}
	s.commitGroup(group)
	for i, w := range group {
		r := w.Wait()
		assert.Error(t, r.Err, "write %d", i)
		assert.Nil(t, r.Snap, "write %d", i)
		if i == 1 {
			assert.ErrorIs(t, r.Err, boom)
		}
	}
	assert.Same(t, before, s.Snapshot(), "nothing published")
	_ = s.Close()
}
