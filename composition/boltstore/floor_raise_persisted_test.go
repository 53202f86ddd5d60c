package boltstore_test

import (
	"encoding/binary"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/portolan/portolan/composition/boltstore"
	"github.com/portolan/portolan/composition/storefloor"
)

// metaOf reads the revision and last id composition.db holds in its meta
// bucket, as a home that predates composition.floor reads them at start
// (/tmp/old-fdef400/src/composition/boltstore/boltstore.go, load: "meta"
// bucket, keys "revision" and "last_id", 8 bytes big-endian), and as
// composition.db alone, backed up and restored, carries them.
func metaOf(t *testing.T, dir string) (revision uint64, lastID int64) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, boltstore.FileName), 0o600, &bolt.Options{ReadOnly: true})
	require.NoError(t, err)
	defer db.Close()
	require.NoError(t, db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket([]byte("meta"))
		require.NotNil(t, meta, "composition.db has a meta bucket")
		if v := meta.Get([]byte("revision")); v != nil {
			revision = binary.BigEndian.Uint64(v)
		}
		if v := meta.Get([]byte("last_id")); v != nil {
			lastID = int64(binary.BigEndian.Uint64(v))
		}
		return nil
	}))
	return revision, lastID
}

// A store raised by its floor at open (after a crash, or a composition.db
// restored from a backup) publishes its content at the raised revision,
// which agents take and keep: they never move back (DESIGN.md, "Agents
// ... never move back to an older revision"). composition.db must say so
// too, not only composition.floor: a home that predates the floor (an
// operator rolling back an upgrade) reads composition.db alone, and went
// on from the revision below the agents', so that none of its changes (a
// suspended application) reached any agent until it passed theirs.
func TestRevisionRaisedAtOpenIsWrittenToTheStoreFile(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	svc, rev := addService(t, s, "a")

	// A crash: the files as they are while the store runs.
	crashed := t.TempDir()
	copyFile(t, dir, crashed, boltstore.FileName)
	copyFile(t, dir, crashed, storefloor.FileName)
	require.NoError(t, s.Close())

	c := open(t, crashed)
	raised := c.Snapshot()
	require.Greater(t, raised.Revision, rev, "a crashed store goes on above what it may have published")
	require.NoError(t, c.Close())

	fileRev, fileLastID := metaOf(t, crashed)
	assert.GreaterOrEqual(t, fileRev, raised.Revision,
		"composition.db says revision %d, but the store published revision %d to agents: a home that reads composition.db alone goes back below them", fileRev, raised.Revision)
	assert.GreaterOrEqual(t, fileLastID, raised.LastID,
		"composition.db says last id %d, but ids up to %d may have been handed out (svc %d)", fileLastID, raised.LastID, svc.ID)
}
