package ledger

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/portolan/portolan/internal/atomicfile"
	"github.com/portolan/portolan/registry"
)

// recover loads what a previous run left in the spool directory: batch files
// to send first, journals of open batches (which become batches), and the
// sequence reservation. A damaged seq file is set aside, not fatal: it only
// keeps numbers rising across runs, every run's batch ids carry its own
// instance id, and numbering goes on past every file the spool holds, so
// nothing is lost or counted twice without it; refusing it would keep the
// container's app down.
func (l *Ledger) recover() error {
	if b, err := os.ReadFile(filepath.Join(l.dir, seqFileName)); err == nil {
		hi, perr := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
		if perr != nil { // hi is 0, or the largest number on a range error: not taken
			l.log.Error().Err(perr).Str("file", filepath.Join(l.dir, seqFileName)).
				Msg("damaged usage sequence file ignored: batches are numbered on from the spool's files")
		} else {
			l.seq = max(l.seq, hi)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	tok, known, err := readSendsWith(l.dir)
	if err != nil { // only the token space of journals' batches: not fatal
		l.log.Error().Err(err).Str("dir", l.dir).Msg("usage spool: the join token of the previous run is unreadable; " +
			"batches rebuilt from its journals name the bootstrap token's space")
	}
	l.journalToken, l.journalTokenKnown = tok, known
	des, err := os.ReadDir(l.dir)
	if err != nil {
		return err
	}
	batches, journals := map[uint64]string{}, map[uint64]string{}
	var seqs []uint64
	for _, de := range des {
		name := de.Name()
		var set map[uint64]string
		var stem string
		switch {
		case strings.HasPrefix(name, "."): // a temporary file of an interrupted atomic write
			os.Remove(filepath.Join(l.dir, name))
			continue
		case strings.HasSuffix(name, rejectedSuffix): // set aside: numbered past, not read
			stem = strings.TrimSuffix(name, rejectedSuffix)
		case strings.HasSuffix(name, damagedSuffix):
			stem = strings.TrimSuffix(name, damagedSuffix)
		case strings.HasSuffix(name, batchSuffix):
			set, stem = batches, strings.TrimSuffix(name, batchSuffix)
		case strings.HasSuffix(name, journalSuffix):
			set, stem = journals, strings.TrimSuffix(name, journalSuffix)
		default:
			continue
		}
		seq, err := strconv.ParseUint(stem, 16, 64)
		if err != nil || len(stem) != 16 {
			continue
		}
		l.seq = max(l.seq, seq+1)
		if set == nil {
			continue
		}
		if _, ok := batches[seq]; !ok {
			if _, ok := journals[seq]; !ok {
				seqs = append(seqs, seq)
			}
		}
		set[seq] = filepath.Join(l.dir, name)
	}
	slices.Sort(seqs)
	for _, seq := range seqs {
		sb, err := l.recoverOne(seq, batches[seq], journals[seq])
		if err != nil {
			return err
		}
		if sb == nil {
			continue
		}
		l.spool = append(l.spool, sb)
		l.spoolBytes += sb.size
		l.addGlobalsPendingLocked(sb.batch.Limiters, l.now())
		for _, e := range sb.batch.Entries {
			starts := periodStarts(e.Minute)
			l.addLocked(e.ApplicationID, e.MetricID, &starts, e.Delta)
		}
	}
	if len(l.spool) > 0 {
		l.log.Info().Int("batches", len(l.spool)).Str("dir", l.dir).Msg("usage from a previous run will be sent first")
	}
	l.seqHi = l.seq // the first number handed out reserves a new block
	return nil
}

// recoverOne returns the batch of seq: its batch file, or else its journal
// turned into one (nil when the journal holds no usage). A damaged batch
// file is set aside and its journal, when a crash left it, read instead:
// it holds the same usage under the same batch id, and persist removes a
// journal before its batch is first sent (but where the removal failed).
// A journal whose batch file cannot be written yet (a full disk) stays and
// is spooled unwritten: persist writes its batch file later, and the agent
// starts meanwhile.
func (l *Ledger) recoverOne(seq uint64, batchPath, journalPath string) (*spoolBatch, error) {
	if batchPath != "" {
		b, err := atomicfile.ReadBounded(batchPath, registry.MaxUsageBodyBytes)
		var f spoolFile
		if err == nil {
			err = json.Unmarshal(b, &f)
		}
		if err == nil && f.ID != "" {
			if journalPath != "" { // cut and written before the crash: the batch file has its usage
				os.Remove(journalPath)
			}
			return &spoolBatch{seq: seq, batch: f.UsageBatch, size: int64(len(b)), written: true, cut: cutOf(&f, modTime(batchPath))}, nil
		}
		// Never silently dropped: set aside for an operator.
		damaged := strings.TrimSuffix(batchPath, batchSuffix) + rejectedSuffix
		_ = os.Rename(batchPath, damaged)
		l.log.Error().Err(err).Str("file", damaged).Bool("from_journal", journalPath != "").
			Msg("damaged usage batch set aside; its usage is not reported unless its journal is left")
		if journalPath == "" {
			return nil, nil
		}
	}
	id, instance, usage, err := readJournal(journalPath)
	if errors.Is(err, errBlankJournal) { // nothing to keep: removed below
		err = nil
	}
	if err != nil && usage == nil { // unreadable as a journal: keep it for an operator
		damaged := strings.TrimSuffix(journalPath, journalSuffix) + damagedSuffix
		if rerr := os.Rename(journalPath, damaged); rerr != nil {
			return nil, fmt.Errorf("set aside the unreadable usage journal %s: %w (move it out of the spool to start)", journalPath, rerr)
		}
		l.log.Error().Err(err).Str("file", damaged).Msg("unreadable usage journal set aside; its usage is not reported")
		return nil, nil
	}
	if err != nil {
		l.log.Error().Err(err).Str("file", journalPath).Msg("usage journal damaged; its readable records are reported")
	}
	if len(usage) == 0 {
		os.Remove(journalPath)
		return nil, nil
	}
	sb := &spoolBatch{seq: seq, cut: modTime(journalPath),
		batch: registry.UsageBatch{ID: id, Instance: instance, Entries: entriesOf(usage), SentWith: l.journalSentWith()}}
	sb.size = estimateSize(len(sb.batch.Entries), 0)
	if err := l.persist(sb); err != nil {
		l.log.Error().Err(err).Str("file", journalPath).Msg("usage batch of a journal not written (disk full?); the journal keeps it, retrying")
		if f, oerr := os.Open(journalPath); oerr == nil {
			sb.journal = &journalFile{f: f} // removed by persist once the batch file is written
		}
		return sb, nil
	}
	os.Remove(journalPath)
	return sb, nil
}

// modTime is when the file at path was last written, or now when that
// cannot be read: the cut time of a batch a previous run left.
func modTime(path string) time.Time {
	if fi, err := os.Stat(path); err == nil {
		return fi.ModTime()
	}
	return time.Now()
}

// readJournal reads a journal's batch id, instance and usage. A torn last
// record (a crash mid-write) and the zeros of reserved space are ignored;
// a damaged record is skipped, with an error and the usage of the others.
// A file that is not a journal (its header damaged) gives nil usage, and
// one with nothing written in it errBlankJournal.
func readJournal(path string) (id, instance string, usage map[usageKey]int64, err error) {
	b, err := atomicfile.ReadBounded(path, maxJournalBytes+maxHeaderBytes)
	if err != nil {
		return "", "", nil, err
	}
	if allZero(b) {
		return "", "", nil, errBlankJournal
	}
	return parseJournal(b)
}

// errBlankJournal is a journal empty or all zeros: a crash or a power loss
// came before its header was written (or reached the disk). It holds no
// usage, so it is removed, not set aside as damaged.
var errBlankJournal = errors.New("blank usage journal")

// parseJournal parses a journal's bytes (see readJournal).
func parseJournal(b []byte) (id, instance string, usage map[usageKey]int64, err error) {
	line, rest, ok := bytes.Cut(b, []byte{'\n'})
	const magic = "portolan-usage-journal 1 "
	if !ok || len(line) > maxHeaderBytes || !bytes.HasPrefix(line, []byte(magic)) {
		return "", "", nil, errors.New("not a usage journal: bad header")
	}
	h := string(line[len(magic):])
	q, err := strconv.QuotedPrefix(h)
	if err == nil {
		id, _ = strconv.Unquote(q)
		h = strings.TrimPrefix(h[len(q):], " ")
		if q, err = strconv.QuotedPrefix(h); err == nil {
			instance, _ = strconv.Unquote(q)
		}
	}
	if err != nil || id == "" {
		return "", "", nil, fmt.Errorf("not a usage journal: bad header: %w", err)
	}
	usage = map[usageKey]int64{}
	damaged, first := 0, 0
	// The records end in zeros: counted once, as a scan after each bad
	// record would take quadratic time on a damaged file.
	zeros := len(rest) - len(bytes.TrimRight(rest, "\x00"))
	for ; len(rest) >= recordSize; rest = rest[recordSize:] {
		r := rest[:recordSize]
		bad := binary.LittleEndian.Uint32(r[32:36]) != crc32.ChecksumIEEE(r[:32]) || !allZero(r[36:])
		if bad && len(rest)-recordSize <= zeros { // nothing but zeros after r
			// Space reserved after the records (a mapped journal), or a
			// record torn by a crash in front of it: the end.
			break
		}
		k := usageKey{
			app:    int64(binary.LittleEndian.Uint64(r[0:])),
			metric: int64(binary.LittleEndian.Uint64(r[8:])),
			minute: int64(binary.LittleEndian.Uint64(r[16:])),
		}
		delta := int64(binary.LittleEndian.Uint64(r[24:]))
		if bad || delta <= 0 || usage[k]+delta < usage[k] {
			// Damage: each record has its own checksum and place, so
			// only this one is lost, not the good ones after it.
			if damaged == 0 {
				first = len(b) - len(rest)
			}
			damaged++
			continue
		}
		usage[k] += delta
	}
	if damaged > 0 {
		return id, instance, usage, fmt.Errorf("%d damaged records skipped, the first at byte %d; the others are kept", damaged, first)
	}
	return id, instance, usage, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// persist writes a cut batch's file atomically, then removes the journal it
// was cut from (a crash in between leaves both; recover keeps the batch).
func (l *Ledger) persist(sb *spoolBatch) error {
	if sb.written {
		return nil
	}
	b, err := json.Marshal(&spoolFile{UsageBatch: sb.batch, Cut: sb.cut.Unix()})
	if err != nil {
		return fmt.Errorf("encode usage batch %s: %w", sb.batch.ID, err)
	}
	if err := atomicfile.Write(filepath.Join(l.dir, seqName(sb.seq)+batchSuffix), b, 0o600); err != nil {
		return fmt.Errorf("write usage batch %s: %w", sb.batch.ID, err)
	}
	if sb.journal != nil {
		sb.journal.Close()
		if err := os.Remove(sb.journal.Name()); err != nil {
			l.log.Warn().Err(err).Msg("remove usage journal (the batch file supersedes it)")
		}
		sb.journal = nil
	}
	sb.written = true
	return nil
}

// forget removes an acknowledged batch's file; a leftover is harmless (sent
// again after a restart, home answers duplicate).
func (l *Ledger) forget(sb *spoolBatch) {
	if l.dir == "" {
		return
	}
	if err := os.Remove(filepath.Join(l.dir, seqName(sb.seq)+batchSuffix)); err != nil && !errors.Is(err, os.ErrNotExist) {
		l.log.Warn().Err(err).Str("batch", sb.batch.ID).Msg("remove acknowledged usage batch")
	}
}

// reject sets aside a batch home refused for good.
func (l *Ledger) reject(sb *spoolBatch, err error) {
	l.setAside(sb, l.log.Error().Err(err), "home refused a usage batch for good")
}

// setAside keeps a batch that will not be sent as a .rejected.json file for
// an operator, and logs why on ev.
func (l *Ledger) setAside(sb *spoolBatch, ev *zerolog.Event, why string) {
	ev = ev.Str("batch", sb.batch.ID).Int("entries", len(sb.batch.Entries))
	if l.dir == "" {
		ev.Msg(why + "; its usage is not counted")
		return
	}
	from := filepath.Join(l.dir, seqName(sb.seq)+batchSuffix)
	if n := l.setAsideCount(); n >= maxSetAside {
		// A home that refuses every batch (an older one, a proxy in front
		// of it) would otherwise fill the disk a batch an interval.
		if rerr := os.Remove(from); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			ev = ev.AnErr("remove", rerr)
		}
		ev.Int("set_aside", n).Str("dir", l.dir).Msg(why + "; dropped, its usage is not counted: " +
			"the spool keeps " + strconv.Itoa(maxSetAside) + " set-aside files at most; move out those looked at")
		return
	}
	path := filepath.Join(l.dir, seqName(sb.seq)+rejectedSuffix)
	if rerr := os.Rename(from, path); rerr != nil {
		ev = ev.AnErr("rename", rerr)
	}
	ev.Str("file", path).Msg(why + "; set aside, its usage is not counted")
}

// maxSetAside bounds the files an operator is left to look at in the spool.
const maxSetAside = 64

// setAsideCount counts the spool's set-aside files (batches and journals):
// rare, so a directory read.
func (l *Ledger) setAsideCount() int {
	entries, err := os.ReadDir(l.dir)
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range entries {
		if name := e.Name(); strings.HasSuffix(name, rejectedSuffix) || strings.HasSuffix(name, damagedSuffix) {
			n++
		}
	}
	return n
}
