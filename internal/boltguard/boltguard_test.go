package boltguard

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
)

// A whole file, or none, checks clean; one cut short or overwritten is an
// error saying so, where reading it would panic or fault.
func TestCheck(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.db")
	require.NoError(t, Check(path), "no file")

	db, err := bolt.Open(path, 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("outer"))
		if err != nil {
			return err
		}
		inner, err := b.CreateBucket([]byte("inner"))
		if err != nil {
			return err
		}
		for i := range 2000 {
			if err := inner.Put([]byte{byte(i >> 8), byte(i)}, bytes.Repeat([]byte{1}, 100)); err != nil {
				return err
			}
		}
		return nil
	}))
	require.NoError(t, db.Close())
	require.NoError(t, Check(path), "a whole file")

	whole, err := os.ReadFile(path)
	require.NoError(t, err)
	page := os.Getpagesize()
	for name, damaged := range map[string][]byte{
		"cut short":         whole[:3*page],
		"pages overwritten": append(bytes.Clone(whole[:2*page]), bytes.Repeat([]byte{0xa5}, len(whole)-2*page)...),
	} {
		require.NoError(t, os.WriteFile(path, damaged, 0o600))
		err := Check(path)
		if assert.Error(t, err, name) {
			assert.Contains(t, err.Error(), "the file is damaged", name)
		}
	}
}
