//go:build !unix

package agent

import "os"

// lockCacheDir locks nothing where flock is not had.
func lockCacheDir(string) (*os.File, error) { return nil, nil }
