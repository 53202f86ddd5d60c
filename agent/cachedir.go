package agent

import (
	"errors"
	"os"

	"github.com/portolan/portolan/internal/atomicfile"
)

// privateCacheDir makes --cache-dir 0700 before anything is kept in it, as
// the coordinator does with its data dir: it holds the instance credential,
// the keys and the unsent usage, and one made beforehand (mkdir -p under a
// loose umask, a volume, an image layer) may let others replace them. One
// this user cannot make private (another user's) is used as it is, warned:
// its files are 0600. A shared sticky one is the images' (1777, so that
// any uid the container runs as can write it; no other user is in the
// container), noted at debug level only. Any other error is lockCacheDir's
// to report.
func (a *Agent) privateCacheDir() {
	err := atomicfile.PrivateDir(a.cfg.CacheDir)
	if !errors.Is(err, atomicfile.ErrNotPrivate) {
		return
	}
	if info, serr := os.Stat(a.cfg.CacheDir); serr == nil && info.Mode()&os.ModeSticky != 0 {
		a.log.Debug().Err(err).Msg("the cache directory is shared (sticky); its files are 0600")
		return
	}
	a.log.Warn().Err(err).Msg("the cache directory stays open to others; its files are 0600")
}
