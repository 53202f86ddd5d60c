package ledger

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
)

// journalFile is a usage journal open for appending. Where the system
// allows (journal_map_linux.go) the file is mapped into memory and a record
// is a copy into the mapping: no system call on the gateway's path (one
// write(2) was one of a request's eight). Either way a record is in the
// page cache when Admit returns, so kill -9 loses none, and neither way
// fsyncs. Elsewhere, or on a file system that cannot reserve the blocks,
// records are written with write(2).
type journalFile struct {
	f *os.File
	n int64 // bytes of header and records

	// Mapped only: the mapping (maxJour plus room for the header) and the
	// bytes reserved in the file, which grows by journalGrowBytes as
	// records fill it. Beyond the reservation the file reads as zeros,
	// which readJournal takes as its end.
	m     []byte
	alloc int64
}

// journalGrowBytes is how much a mapped journal reserves at a time: one
// fallocate(2) per 6,500 records.
const journalGrowBytes = 256 << 10

// nextReserve is the file size of the reservation after one ending at n:
// the next multiple of journalGrowBytes.
func nextReserve(n int64) int64 { return (n/journalGrowBytes + 1) * journalGrowBytes }

// errJournalFault is a mapped journal whose pages could not be written
// (its file truncated under it, or the disk gone): the record is not kept.
var errJournalFault = errors.New("the mapped journal's pages could not be written")

// createJournalFile creates path with header, mapped for appending when it
// can be: maxRecords bounds the bytes of records it will hold.
func createJournalFile(path string, header []byte, maxRecords int64) (*journalFile, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(header); err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	j := &journalFile{f: f, n: int64(len(header))}
	j.m, j.alloc = mapJournal(f, j.n, j.n+maxRecords)
	return j, nil
}

// Name is the journal's path.
func (j *journalFile) Name() string { return j.f.Name() }

// Append adds records after the last. On an error nothing of them is kept
// (a torn write is cut off), unless the cut failed too (errJournalDamaged)
// or the mapping faulted mid-copy (errJournalFault): then the journal's
// end is unknown and the caller stops writing to it.
func (j *journalFile) Append(b []byte) error {
	if j.m == nil {
		if _, err := j.f.Write(b); err != nil {
			// Cut a partial record off, or the records after it would be misread.
			if terr := j.f.Truncate(j.n); terr != nil {
				return fmt.Errorf("%w: %w (and cutting it off: %w)", errJournalDamaged, err, terr)
			}
			return err
		}
		j.n += int64(len(b))
		return nil
	}
	end := j.n + int64(len(b))
	if end > int64(len(j.m)) {
		return fmt.Errorf("usage journal full at %d bytes", j.n)
	}
	for end > j.alloc {
		grown, err := growJournal(j.f, j.alloc, min(nextReserve(j.alloc), int64(len(j.m))))
		if err != nil {
			return fmt.Errorf("reserve journal space: %w", err)
		}
		j.alloc = grown
	}
	if err := copyGuarded(j.m[j.n:end], b); err != nil {
		return err
	}
	j.n = end
	return nil
}

// errJournalDamaged is a journal a failed write left with a partial record.
var errJournalDamaged = errors.New("usage journal damaged")

// copyGuarded copies src into a mapping, turning a fault on its pages
// (SIGBUS: the file was truncated under the mapping) into an error rather
// than a crash of the agent.
func copyGuarded(dst, src []byte) (err error) {
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		if recover() != nil {
			err = errJournalFault
		}
	}()
	copy(dst, src)
	return nil
}

// Close unmaps and closes the journal.
func (j *journalFile) Close() error {
	if j.m != nil {
		unmapJournal(j.m)
		j.m = nil
	}
	return j.f.Close()
}
