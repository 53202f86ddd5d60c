// Package boltguard reads bbolt files that may be damaged (a bad disk, a
// copy gone wrong, a file cut short) without crashing: bbolt panics on a
// page that is not what its parent says, and its mapping faults (SIGBUS)
// on the pages a file no longer has, either ending the process in a stack
// trace of bbolt's that names neither the file nor what to do.
//
// boltguard imports only bbolt and the standard library.
package boltguard

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Guard runs fn, which reads a bbolt file in this goroutine, and turns a
// panic or a memory fault in it into an error saying what to do (the
// caller names the file). A panic in bolt.Open leaves the file's
// descriptor open: the caller is about to exit.
func Guard(fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the file is damaged (%v): nothing is served from a file that cannot be read whole; "+
				"restore the file from a backup", r)
		}
	}()
	return fn()
}

// Check reads every bucket, key and value of the bbolt file at path, opened
// read-only, under Guard; a file that does not exist is no error. It is for
// files opened with NoFreelistSync, whose freelist bbolt rebuilds at open by
// walking the file in a goroutine of its own, where a damaged page's panic
// cannot be recovered: checked first, the file is known whole by then.
func Check(path string) error {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return Guard(func() error {
		db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 2 * time.Second})
		if err != nil {
			return err
		}
		defer db.Close()
		return db.View(func(tx *bolt.Tx) error {
			var sum byte // each value's last byte read: its pages are touched
			err := tx.ForEach(func(_ []byte, b *bolt.Bucket) error { return walk(b, &sum) })
			_ = sum
			return err
		})
	})
}

// walk reads every key and value of b and of the buckets within it.
func walk(b *bolt.Bucket, sum *byte) error {
	return b.ForEach(func(k, v []byte) error {
		if v == nil {
			if nested := b.Bucket(k); nested != nil {
				return walk(nested, sum)
			}
			return nil
		}
		if len(v) > 0 {
			*sum ^= v[len(v)-1]
		}
		return nil
	})
}
