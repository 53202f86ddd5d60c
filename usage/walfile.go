package usage

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/portolan/portolan/internal/atomicfile"
)

// WALFile is the usage store's write-ahead log inside the data directory.
// A checkpoint that finds it past walRotateBytes renames it to
// WALFile.<the sequence number of its last record, 20 digits> and starts a
// new one; a renamed segment is removed once usage.db holds all of it.
const WALFile = "usage.wal"

// walRotateBytes is the size at which a checkpoint rotates the log.
const walRotateBytes = 4 << 20

// walLog is the live log file. The writer goroutine alone writes and
// rotates it; size is read by the checkpointer.
type walLog struct {
	dir  string
	f    *os.File
	next uint64 // the sequence number of the next record
	size atomic.Int64
}

func (w *walLog) livePath() string { return filepath.Join(w.dir, WALFile) }

// openLive opens (creating) the live log for appending.
func (w *walLog) openLive() error {
	f, err := os.OpenFile(w.livePath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open %s: %w", w.livePath(), err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("stat %s: %w", w.livePath(), err)
	}
	if err := atomicfile.SyncDir(w.dir); err != nil {
		f.Close()
		return err
	}
	w.f = f
	w.size.Store(fi.Size())
	return nil
}

// rotate renames the live log to a closed segment and opens a new one.
// Everything written must be synced first: a closed segment never ends in a
// torn record.
func (w *walLog) rotate() error {
	if w.size.Load() == 0 {
		return nil
	}
	closed := segmentPath(w.dir, w.next-1)
	if err := os.Rename(w.livePath(), closed); err != nil {
		return fmt.Errorf("rotate %s: %w", w.livePath(), err)
	}
	old := w.f
	if err := w.openLive(); err != nil { // syncs the directory: the rename and the new file
		return err
	}
	if err := old.Close(); err != nil {
		return fmt.Errorf("close %s: %w", closed, err)
	}
	return nil
}

// empty truncates the live log once usage.db holds every record in it.
func (w *walLog) empty() error {
	if w.size.Load() == 0 {
		return nil
	}
	if err := w.f.Truncate(0); err != nil {
		return fmt.Errorf("truncate %s: %w", w.livePath(), err)
	}
	w.size.Store(0)
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", w.livePath(), err)
	}
	return nil
}

func segmentPath(dir string, last uint64) string {
	return filepath.Join(dir, fmt.Sprintf("%s.%020d", WALFile, last))
}

// walSegment is a closed segment and the sequence number of its last record.
type walSegment struct {
	path string
	last uint64
}

// closedSegments lists the closed segments in dir, oldest first.
func closedSegments(dir string) ([]walSegment, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	var out []walSegment
	for _, e := range entries {
		suffix, ok := strings.CutPrefix(e.Name(), WALFile+".")
		if !ok || len(suffix) != 20 {
			continue
		}
		last, err := strconv.ParseUint(suffix, 10, 64)
		if err != nil {
			continue
		}
		out = append(out, walSegment{filepath.Join(dir, e.Name()), last})
	}
	slices.SortFunc(out, func(a, b walSegment) int { return cmp.Compare(a.last, b.last) })
	return out, nil
}

// removeSegments removes the closed segments whose records usage.db holds
// all of (their last at or below applied), oldest first, so a crash
// half-way leaves a suffix of the log.
func removeSegments(dir string, applied uint64) error {
	segs, err := closedSegments(dir)
	if err != nil {
		return err
	}
	for _, s := range segs {
		if s.last > applied {
			break
		}
		if err := os.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", s.path, err)
		}
	}
	return nil
}

// scanWAL decodes the records of one log file's bytes, in order, and returns
// them with the end of the last whole one. A record that does not decode
// ends the scan: when no whole record follows it anywhere, it is a torn
// tail (a write the crash cut, never acknowledged) and end is where it
// starts; when one does, the log is damaged in its middle, and that is an
// error naming both offsets, never skipped.
func scanWAL(data []byte) (recs []walRecord, end int, err error) {
	for end < len(data) {
		rec, n, err := decodeRecord(data[end:])
		if err != nil {
			for next := end + 1; next+walHeaderLen <= len(data); next++ {
				if _, _, err2 := decodeRecord(data[next:]); err2 == nil {
					return nil, end, fmt.Errorf("record at offset %d: %w; a whole record follows at offset %d", end, err, next)
				}
			}
			return recs, end, nil
		}
		recs = append(recs, rec)
		end += n
	}
	return recs, end, nil
}
