package ledger

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strconv"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/atomicfile"
)

// journalLocked appends one record per hit to the open batch's journal,
// creating the journal first if needed.
func (l *Ledger) journalLocked(app int64, hits []composition.Hit, minute int64) error {
	if l.dir == "" {
		return nil
	}
	if l.journal == nil {
		if err := l.createJournalLocked(); err != nil {
			return err
		}
	}
	l.buf = l.buf[:0]
	for _, h := range hits {
		if h.Delta > 0 {
			l.buf = appendRecord(l.buf, app, h.MetricID, minute, h.Delta)
		}
	}
	if len(l.buf) == 0 {
		return nil
	}
	if err := l.journal.Append(l.buf); err != nil {
		if errors.Is(err, errJournalDamaged) || errors.Is(err, errJournalFault) {
			l.broken = true
		}
		return fmt.Errorf("usage journal %s: %w", l.journal.Name(), err)
	}
	l.journalLen = l.journal.n
	return nil
}

// createJournalLocked opens the open batch's journal: the spare the reporter
// prepared, or a new one.
func (l *Ledger) createJournalLocked() error {
	if l.spare.f != nil {
		l.journal, l.openSeq, l.journalLen = l.spare.f, l.spare.seq, l.spare.f.n
		l.spare = spareJournal{}
		return nil
	}
	seq, err := l.nextSeqLocked()
	if err != nil {
		return err
	}
	j, err := l.newJournal(seq)
	if err != nil {
		return err
	}
	l.journal, l.openSeq, l.journalLen = j.f, j.seq, j.f.n
	return nil
}

// spareJournal is a journal created ahead of need, with its header.
type spareJournal struct {
	f   *journalFile
	seq uint64
}

// newJournal creates the journal of batch seq and writes its header.
func (l *Ledger) newJournal(seq uint64) (spareJournal, error) {
	path := filepath.Join(l.dir, seqName(seq)+journalSuffix)
	header := strconv.AppendQuote([]byte("portolan-usage-journal 1 "), l.batchID(seq))
	header = append(strconv.AppendQuote(append(header, ' '), l.instance), '\n')
	f, err := createJournalFile(path, header, l.maxJour)
	if err != nil {
		return spareJournal{}, fmt.Errorf("usage journal %s: %w", path, err)
	}
	return spareJournal{f: f, seq: seq}, nil
}

// prepare keeps Admit's path free of file creation and fsync: it reserves
// sequence numbers ahead and creates the next journal before it is needed.
func (l *Ledger) prepare() {
	if l.dir == "" {
		return
	}
	l.mu.Lock()
	hi, reserve := l.seq+seqBlock, l.seqHi-l.seq < seqBlock/2
	l.mu.Unlock()
	if reserve {
		if err := l.writeSeq(hi); err != nil {
			l.log.Warn().Err(err).Msg("reserve usage batch numbers")
		} else {
			l.mu.Lock()
			l.seqHi = max(l.seqHi, hi)
			l.mu.Unlock()
		}
	}
	l.mu.Lock()
	if l.spare.f != nil {
		l.mu.Unlock()
		return
	}
	seq, err := l.nextSeqLocked()
	l.mu.Unlock()
	if err != nil {
		l.log.Warn().Err(err).Msg("prepare usage journal")
		return
	}
	j, err := l.newJournal(seq)
	if err != nil {
		l.log.Warn().Err(err).Msg("prepare usage journal")
		return
	}
	l.mu.Lock()
	if l.spare.f == nil {
		l.spare = j
		j.f = nil
	}
	l.mu.Unlock()
	if j.f != nil { // cannot happen with one reporter; never leak it
		j.f.Close()
		os.Remove(j.f.Name())
	}
}

func (l *Ledger) writeSeq(hi uint64) error {
	if err := atomicfile.Write(filepath.Join(l.dir, seqFileName), strconv.AppendUint(nil, hi, 10), 0o600); err != nil {
		return fmt.Errorf("usage sequence: %w", err)
	}
	return nil
}

// nextSeqLocked hands out a batch sequence number, reserving a block in the
// seq file first when the reservation is used up, so that numbers increase
// across restarts.
func (l *Ledger) nextSeqLocked() (uint64, error) {
	if l.dir != "" && l.seq >= l.seqHi { // the reporter reserves ahead; this is the fallback
		hi := l.seq + seqBlock
		if err := l.writeSeq(hi); err != nil {
			return 0, err
		}
		l.seqHi = hi
	}
	s := l.seq
	l.seq++
	return s, nil
}

func (l *Ledger) batchID(seq uint64) string {
	return l.instance + "-" + strconv.FormatUint(seq, 10)
}

// seqName names a sequence number's files; they sort in sequence order.
func seqName(seq uint64) string { return fmt.Sprintf("%016x", seq) }

func appendRecord(b []byte, app, metric, minute, delta int64) []byte {
	n := len(b)
	b = binary.LittleEndian.AppendUint64(b, uint64(app))
	b = binary.LittleEndian.AppendUint64(b, uint64(metric))
	b = binary.LittleEndian.AppendUint64(b, uint64(minute))
	b = binary.LittleEndian.AppendUint64(b, uint64(delta))
	b = binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(b[n:]))
	return append(b, 0, 0, 0, 0)
}
