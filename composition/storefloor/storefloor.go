// Package storefloor keeps a composition store from going back: a file
// beside the store's other state bounds every revision and id the store may
// have handed out, so that a store restored from an older backup resumes
// above them, and one that lost its data is refused rather than served
// empty. boltstore keeps one beside composition.db; consulstore one in
// each coordinator's data dir, raising Consul's revision above it at open.
//
// Why: agents take a composition only at a revision above the one they hold
// (so that a peer cannot gossip an old one back), and ids are never reused
// (usage counters, clients and agents hold them). A store restored from a
// backup is at an older revision and id: without the floor its revisions
// would be ignored by every agent until they passed the ones agents had,
// and its new entities would take ids that named others.
//
// storefloor imports only composition and internal/atomicfile.
package storefloor

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

// FileName is the floor file, in the directory a store is given.
const FileName = "composition.floor"

// block is how far a running store reserves revisions and ids ahead of the
// last it published: the file is written once in block of them.
const block = 1024

// floor is the floor file's content. A running store keeps in it a bound
// on every revision and id it may have handed out (Clean false); a store
// closed cleanly, the exact last ones (Clean true). Reached, above 0, says
// the store has held content: a revision it had stored.
type floor struct {
	Revision uint64 `json:"revision"`
	LastID   int64  `json:"last_id"`
	Reached  uint64 `json:"reached"`
	Clean    bool   `json:"clean,omitempty"`
}

// Keeper writes a store's floor file as the store goes on. Its methods are
// safe for concurrent use.
type Keeper struct {
	path string
	mu   sync.Mutex
	at   floor // what the file holds
}

// Open reads the floor file in dir and raises c, the composition a store
// loaded (what names its data in errors: a file, Consul's keys), to it: a
// store closed cleanly at c's own revision and id goes on from them; one
// that crashed, or is below its floor (restored from a backup), goes on
// above every revision and id it may have handed out. c at revision 0 over
// a floor that says the store had content is refused: its data was lost,
// and serving nothing at a new revision would drop every service from
// every agent; with startEmpty (the operator means it: an import follows)
// the empty c goes on above the floor, so that agents take what comes. Without
// a floor file (a new store, or one older than floors), c is kept as it is.
// The file is then written to reserve above c, before the store serves it.
func Open(dir string, c *composition.Composition, what string, startEmpty bool) (*Keeper, error) {
	k := &Keeper{path: filepath.Join(dir, FileName), at: floor{Clean: true, Reached: c.Revision}}
	f, ok, err := k.read()
	if err != nil {
		return nil, err
	}
	if ok {
		if err := k.resume(c, f, what, startEmpty); err != nil {
			return nil, err
		}
	}
	if err := k.Reserve(c); err != nil {
		return nil, err
	}
	return k, nil
}

func (k *Keeper) read() (f floor, ok bool, err error) {
	b, err := atomicfile.ReadBounded(k.path, 4<<10)
	if errors.Is(err, fs.ErrNotExist) {
		return floor{}, false, nil
	}
	if err != nil {
		return floor{}, false, err
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return floor{}, false, fmt.Errorf("read %s: %w (it holds the revision and id the composition reached: "+
			"restore it with the composition, or remove it if the composition is the newest this home had)", k.path, err)
	}
	return f, true, nil
}

func (k *Keeper) resume(c *composition.Composition, f floor, what string, startEmpty bool) error {
	if c.Revision == 0 && f.Reached > 0 && !startEmpty {
		return fmt.Errorf("%s is empty, but this home's composition reached revision %d (%s says): "+
			"its data was lost or replaced; restore it from a backup, and it resumes above the revisions agents hold. "+
			"To start from an empty composition on purpose (to import an export, say), start with --start-empty: "+
			"agents then drop what they have and take what is imported", what, f.Reached, k.path)
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

// Reserve makes the file bound next's revision and id, writing it (synced)
// when they pass what it holds; the store publishes next after it.
func (k *Keeper) Reserve(next *composition.Composition) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.at.Clean && next.Revision <= k.at.Revision && next.LastID <= k.at.LastID {
		return nil
	}
	return k.write(floor{Revision: next.Revision + block, LastID: next.LastID + block, Reached: k.at.Reached})
}

// Stored records, the first time the store holds a revision, that it has
// content: from then on a lost store is refused (Open).
func (k *Keeper) Stored(revision uint64) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.at.Reached > 0 || revision == 0 {
		return nil
	}
	f := k.at
	f.Reached = revision
	return k.write(f)
}

// Close writes the exact revision and id the store closes at: the next
// Open goes on from them.
func (k *Keeper) Close(last *composition.Composition) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.write(floor{Revision: last.Revision, LastID: last.LastID, Reached: max(k.at.Reached, last.Revision), Clean: true})
}

func (k *Keeper) write(f floor) error {
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
