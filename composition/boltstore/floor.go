package boltstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sync"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/atomicfile"
)

// FloorFileName is the file beside the store that keeps it from going back:
// the revision and the id it has reached or may have reached.
const FloorFileName = "composition.floor"

// floorBlock is how far a running store reserves revisions and ids ahead of
// the last it wrote: the floor file is written once in floorBlock of them.
const floorBlock = 1024

// floor is the floor file's content. A running store keeps in it a bound
// on every revision and id it may have handed out (Clean false); a store
// closed cleanly, the exact last ones (Clean true). Reached, above 0, says
// the store has held content: a revision it had stored.
//
// Why it exists: agents take a composition only at a revision above the one
// they hold (so that a peer cannot gossip an old one back), and ids are
// never reused (usage counters, clients and agents hold them). A
// composition.db restored from a backup, as the damaged-file error advises,
// is at an older revision and id: without the floor its revisions would be
// ignored by every agent until they passed the ones agents had, and its new
// entities would take ids that named others. With it, a store that finds
// itself below its floor resumes above it.
type floor struct {
	Revision uint64 `json:"revision"`
	LastID   int64  `json:"last_id"`
	Reached  uint64 `json:"reached"`
	Clean    bool   `json:"clean,omitempty"`
}

// floorKeeper writes the floor file as the store reaches it.
type floorKeeper struct {
	path string
	mu   sync.Mutex
	at   floor // what the file holds
}

// readFloor reads dir's floor file; ok is false when there is none (a store
// older than the floor, or a new one).
func readFloor(dir string) (f floor, ok bool, err error) {
	path := filepath.Join(dir, FloorFileName)
	b, err := atomicfile.ReadBounded(path, 4<<10)
	if errors.Is(err, fs.ErrNotExist) {
		return floor{}, false, nil
	}
	if err != nil {
		return floor{}, false, err
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return floor{}, false, fmt.Errorf("read %s: %w (it holds the revision and id the composition reached: "+
			"restore it with composition.db, or remove it if composition.db is the newest this home had)", path, err)
	}
	return f, true, nil
}

// resume decides where a store loaded as c goes on, given its floor, and
// raises c's revision and last id to it: a store closed cleanly at c's own
// revision and id goes on from them; one that crashed, or is below its
// floor (restored from a backup), goes on above every revision and id it
// may have handed out. An empty store over a floor is refused: its file was
// lost, and serving nothing at a new revision would drop every service
// from every agent.
func resume(c *composition.Composition, f floor, path string) error {
	if c.Revision == 0 && f.Reached > 0 {
		return fmt.Errorf("%s is empty, but this home's composition reached revision %d (%s says): "+
			"its file was lost or replaced; restore it from a backup, and it resumes above the revisions agents hold. "+
			"To start from an empty composition on purpose, remove %s too: agents then keep what they have "+
			"until this home's revisions pass theirs", path, f.Reached, FloorFileName, FloorFileName)
	}
	if f.Clean && c.Revision == f.Revision && c.LastID == f.LastID {
		return nil
	}
	if c.Revision <= f.Revision {
		c.Revision = f.Revision + 1
	}
	c.LastID = max(c.LastID, f.LastID)
	return nil
}

// reserve makes the file bound next's revision and id, writing it (synced)
// when they pass what it holds; the caller persists next after it.
func (k *floorKeeper) reserve(next *composition.Composition) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.at.Clean && next.Revision <= k.at.Revision && next.LastID <= k.at.LastID {
		return nil
	}
	return k.write(floor{Revision: next.Revision + floorBlock, LastID: next.LastID + floorBlock, Reached: k.at.Reached})
}

// stored records, the first time the store holds a revision, that it has
// content: from then on a lost file is refused (resume).
func (k *floorKeeper) stored(revision uint64) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.at.Reached > 0 || revision == 0 {
		return nil
	}
	f := k.at
	f.Reached = revision
	return k.write(f)
}

// close writes the exact revision and id the store closes at.
func (k *floorKeeper) close(last *composition.Composition) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.write(floor{Revision: last.Revision, LastID: last.LastID, Reached: last.Revision, Clean: true})
}

func (k *floorKeeper) write(f floor) error {
	b, err := json.Marshal(f)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(k.path, append(b, '\n'), 0o600); err != nil {
		return err
	}
	k.at = f
	return nil
}

// newFloorKeeper keeps the floor file of the store in dir, which holds
// revision (0: the store is empty).
func newFloorKeeper(dir string, revision uint64) *floorKeeper {
	return &floorKeeper{path: filepath.Join(dir, FloorFileName), at: floor{Clean: true, Reached: revision}}
}
