package boltstore_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// A reconcile through the bolt store is one revision on disk; the same
// desired composition again is none, even after a reopen.
func TestReconcileIsOneRevisionThenNone(t *testing.T) {
	build := composition.NewTx(composition.New(), time.Now())
	buildRich(t, build)
	desired := build.Result()
	opts := composition.DiffOptions{Prune: true, Secrets: true}
	reconcile := func(tx *composition.Tx) error { _, err := composition.Reconcile(tx, desired, opts); return err }

	dir := t.TempDir()
	s := open(t, dir)
	first := update(t, s, reconcile)
	assert.EqualValues(t, 1, first.Revision)
	assert.Same(t, first, update(t, s, reconcile), "nothing to write: no revision")
	require.NoError(t, s.Close())

	s = open(t, dir)
	defer s.Close()
	assert.EqualValues(t, 1, s.Snapshot().Revision)
	p, err := composition.Diff(s.Snapshot(), desired, opts)
	require.NoError(t, err)
	assert.True(t, p.Empty(), "the reopened store holds what desired says: %+v", p.Changes)
	assert.EqualValues(t, 1, update(t, s, reconcile).Revision)
}
