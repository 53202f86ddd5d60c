package boltstore_test

import (
	"testing"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/composition/storetest"
)

// The group-commit properties (storetest) on bbolt; ConcurrentWriters'
// reopen reads the file again.

func TestGroupCommitConcurrentWriters(t *testing.T) {
	dir := t.TempDir()
	storetest.ConcurrentWriters(t, open(t, dir), func() composition.Store { return open(t, dir) })
}

func TestGroupCommitFailingWriteFailsAlone(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	storetest.FailingWriteFailsAlone(t, s)
}

func TestGroupCommitPanicReachesTheCaller(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	storetest.PanicReachesTheCaller(t, s)
}

func TestGroupCommitClosed(t *testing.T) {
	storetest.Closed(t, open(t, t.TempDir()))
}
