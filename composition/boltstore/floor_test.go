package boltstore_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/composition/boltstore"
	"github.com/portolan/portolan/composition/storefloor"
)

// addService writes a service named name and returns it and the revision.
func addService(t *testing.T, s composition.Store, name string) (*composition.Service, uint64) {
	t.Helper()
	svc := &composition.Service{Name: name}
	snap := update(t, s, func(tx *composition.Tx) error { return tx.Create(svc) })
	return svc, snap.Revision
}

// copyFile copies the file name from one directory to another.
func copyFile(t *testing.T, from, to, name string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(from, name))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(to, name), b, 0o600))
}

// serviceNames returns the names of c's services, sorted.
func serviceNames(c *composition.Composition) []string {
	var out []string
	c.Each(composition.KindService, func(e composition.Entity) { out = append(out, e.(*composition.Service).Name) })
	slices.Sort(out)
	return out
}

// A composition.db restored from a backup (what the damaged-file error
// advises) resumes above every revision and id the store had handed out:
// agents take a composition only at a revision above theirs, and ids are
// never reused, so a restored store that went on from the backup's
// revision would be ignored by every agent, and its new entities would
// take the ids of others.
func TestRestoredBackupResumesAboveEveryRevisionAndID(t *testing.T) {
	dir, backup := t.TempDir(), t.TempDir()
	s := open(t, dir)
	addService(t, s, "kept")
	require.NoError(t, s.Close())
	copyFile(t, dir, backup, boltstore.FileName)

	s = open(t, dir)
	_, _ = addService(t, s, "after the backup 1")
	lost, lastRev := addService(t, s, "after the backup 2")
	require.NoError(t, s.Close())

	copyFile(t, backup, dir, boltstore.FileName)
	s = open(t, dir)
	t.Cleanup(func() { _ = s.Close() })
	snap := s.Snapshot()
	assert.Equal(t, []string{"kept"}, serviceNames(snap), "the backup's content")
	assert.Greater(t, snap.Revision, lastRev, "a revision above the last one published")
	svc, rev := addService(t, s, "new")
	assert.Greater(t, rev, lastRev)
	assert.Greater(t, svc.ID, lost.ID, "an id never handed out")
}

// A clean restart goes on from the store's own revision; one after a crash
// (the floor file then holds a reservation ahead of the writes) goes on
// above everything it may have published.
func TestRestartsGoOnFromTheFloor(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	_, rev := addService(t, s, "a")
	require.NoError(t, s.Close())
	s = open(t, dir)
	assert.Equal(t, rev, s.Snapshot().Revision, "a clean restart keeps its revision")
	_, rev = addService(t, s, "b")

	// A crash: the files as they are while the store runs.
	crashed := t.TempDir()
	copyFile(t, dir, crashed, boltstore.FileName)
	copyFile(t, dir, crashed, storefloor.FileName)
	require.NoError(t, s.Close())
	c := open(t, crashed)
	t.Cleanup(func() { _ = c.Close() })
	assert.Greater(t, c.Snapshot().Revision, rev)
	assert.Equal(t, []string{"a", "b"}, serviceNames(c.Snapshot()))

	// A store that crashed after its first writes, and lost its file, is
	// refused too: the floor says it had content from its first write on.
	first := t.TempDir()
	f := open(t, first)
	addService(t, f, "x")
	lostAfterCrash := t.TempDir()
	copyFile(t, first, lostAfterCrash, storefloor.FileName)
	require.NoError(t, f.Close())
	_, err := boltstore.Open(lostAfterCrash)
	require.Error(t, err, "a lost file after a crash")
	assert.Contains(t, err.Error(), "is empty, but this home's composition reached revision 1")

	// A store that never wrote restarts, cleanly or not.
	fresh := t.TempDir()
	f = open(t, fresh)
	crashedFresh := t.TempDir()
	copyFile(t, fresh, crashedFresh, boltstore.FileName)
	copyFile(t, fresh, crashedFresh, storefloor.FileName)
	require.NoError(t, f.Close())
	f = open(t, fresh)
	require.NoError(t, f.Close())
	f = open(t, crashedFresh)
	require.NoError(t, f.Close())
}

// A store whose file was lost (an empty composition.db beside a floor that
// says it had content) is refused, naming the file and what to do: serving
// an empty composition at a new revision would drop every service from
// every agent. Asked to (--start-empty), it starts empty above the floor.
func TestLostStoreIsRefused(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	lost, lostRev := addService(t, s, "a")
	require.NoError(t, s.Close())
	require.NoError(t, os.Remove(filepath.Join(dir, boltstore.FileName)))

	_, err := boltstore.Open(dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), filepath.Join(dir, boltstore.FileName)+" is empty")
	assert.Contains(t, err.Error(), "restore it from a backup")
	assert.Contains(t, err.Error(), filepath.Join(dir, storefloor.FileName)+" says")
	assert.Contains(t, err.Error(), "start with --start-empty")

	// On purpose: empty, above every revision and id handed out, so that
	// agents take it and what is imported next.
	s, err = boltstore.OpenWith(dir, boltstore.Options{StartEmpty: true})
	require.NoError(t, err)
	defer s.Close()
	assert.Empty(t, serviceNames(s.Snapshot()))
	assert.Greater(t, s.Snapshot().Revision, lostRev)
	svc, _ := addService(t, s, "b")
	assert.Greater(t, svc.ID, lost.ID, "an id never handed out")
}

// A damaged floor file is an error naming it, not a store that may go back.
func TestDamagedFloorFileIsRefused(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	require.NoError(t, s.Close())
	require.NoError(t, os.WriteFile(filepath.Join(dir, storefloor.FileName), []byte("{\"revision\":"), 0o600))
	_, err := boltstore.Open(dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), storefloor.FileName)
}
