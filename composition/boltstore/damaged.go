package boltstore

import (
	"fmt"
	"runtime/debug"
)

// readGuarded runs fn, which reads the store's file through bbolt, and
// turns a panic or a memory fault in it into an error saying what to do
// (the caller names the file). bbolt panics on a page that is not what its parent says (a
// damaged file: a bad disk, a copy gone wrong), and its mmap faults (SIGBUS)
// on the pages of a file cut short; either would end the coordinator with a
// stack trace of bbolt's that names neither. A panic in Open leaves the
// file's descriptor open: the caller is about to exit.
func readGuarded(fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the file is damaged (%v): the coordinator does not start on a composition it cannot read whole; "+
				"restore the file from a backup", r)
		}
	}()
	return fn()
}
