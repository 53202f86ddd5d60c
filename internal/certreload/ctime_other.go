//go:build !linux

package certreload

import "os"

// changeTime is 0 where the status change time is not read (Portolan's
// releases are Linux's): a pair that failed to load is then read again
// on its files' other changes and on the slow retry only.
func changeTime(os.FileInfo) int64 { return 0 }
