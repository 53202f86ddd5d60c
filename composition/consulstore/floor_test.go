package consulstore_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/composition/consulstore"
	"github.com/portolan/portolan/internal/testenv"
)

// openWithFloor opens a store keeping its floor in dir.
func openWithFloor(t *testing.T, c *testenv.Consul, dir string, startEmpty bool) (*consulstore.Store, error) {
	t.Helper()
	return consulstore.Open(context.Background(), consulstore.Config{Client: newClient(t, c), Prefix: prefix,
		Logger: zerolog.Nop(), FloorDir: dir, StartEmpty: startEmpty})
}

func createService(t *testing.T, s *consulstore.Store, name string) *composition.Snapshot {
	t.Helper()
	snap, err := s.Update(context.Background(), func(tx *composition.Tx) error {
		return tx.Create(&composition.Service{Name: name})
	})
	require.NoError(t, err)
	return snap
}

// Consul restored from an older snapshot holds older revisions than agents
// took from a coordinator: restarted on it, the coordinator goes on above
// its floor and raises Consul's revision, so that agents (and the other
// coordinators) take the restored composition; its new entities take ids
// never handed out. An empty Consul (its data lost) is refused, unless the
// coordinator is told to start empty.
func TestConsulRestoredFromAnOlderSnapshotResumesAboveTheFloor(t *testing.T) {
	c := testenv.StartConsul(t)
	dir := t.TempDir()
	s, err := openWithFloor(t, c, dir, false)
	require.NoError(t, err)
	createService(t, s, "kept")
	snapshot, _, err := newClient(t, c).Snapshot().Save(nil)
	require.NoError(t, err)
	saved, err := io.ReadAll(snapshot)
	require.NoError(t, err)
	require.NoError(t, snapshot.Close())
	createService(t, s, "after 1")
	last := createService(t, s, "after 2")
	require.NoError(t, s.Close())

	require.NoError(t, newClient(t, c).Snapshot().Restore(nil, bytes.NewReader(saved)))
	s, err = openWithFloor(t, c, dir, false)
	require.NoError(t, err)
	snap := s.Snapshot()
	assert.Greater(t, snap.Revision, last.Revision, "above every revision published")
	_, ok := snap.ServiceBySystemName("kept")
	assert.True(t, ok)
	_, ok = snap.ServiceBySystemName("after_1")
	assert.False(t, ok, "the snapshot's composition")
	other := open(t, newClient(t, c)) // a coordinator without this one's floor
	assert.Equal(t, snap.Revision, other.Snapshot().Revision, "Consul holds the raised revision")
	next := createService(t, s, "new")
	assert.Greater(t, next.LastID, last.LastID, "ids never handed out")
	require.NoError(t, s.Close())

	c.Restart() // a dev agent comes back empty
	_, err = openWithFloor(t, c, dir, false)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the composition in Consul under "+prefix+"composition/ is empty")
	assert.Contains(t, err.Error(), "--start-empty")
	s, err = openWithFloor(t, c, dir, true)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	assert.Greater(t, s.Snapshot().Revision, next.Revision)
	assert.Zero(t, s.Snapshot().Services.Len())
}
