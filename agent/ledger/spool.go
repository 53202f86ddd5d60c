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
		case strings.HasSuffix(name, rejectedSuffix):
			continue
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
		if _, ok := batches[seq]; !ok {
			if _, ok := journals[seq]; !ok {
				seqs = append(seqs, seq)
			}
		}
		set[seq] = filepath.Join(l.dir, name)
		l.seq = max(l.seq, seq+1)
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
// turned into one (nil when the journal holds no usage).
func (l *Ledger) recoverOne(seq uint64, batchPath, journalPath string) (*spoolBatch, error) {
	if batchPath != "" {
		if journalPath != "" { // cut and written before the crash: the batch file has its usage
			os.Remove(journalPath)
		}
		b, err := atomicfile.ReadBounded(batchPath, registry.MaxUsageBodyBytes)
		var batch registry.UsageBatch
		if err == nil {
			err = json.Unmarshal(b, &batch)
		}
		if err != nil || batch.ID == "" {
			// Never silently dropped: set aside for an operator.
			damaged := strings.TrimSuffix(batchPath, batchSuffix) + rejectedSuffix
			_ = os.Rename(batchPath, damaged)
			l.log.Error().Err(err).Str("file", damaged).Msg("damaged usage batch set aside; its usage is not reported")
			return nil, nil
		}
		return &spoolBatch{seq: seq, batch: batch, size: int64(len(b)), written: true, cut: modTime(batchPath)}, nil
	}
	id, instance, usage, err := readJournal(journalPath)
	if err != nil {
		l.log.Error().Err(err).Str("file", journalPath).Msg("usage journal read up to the damage")
	}
	if len(usage) == 0 {
		os.Remove(journalPath)
		return nil, nil
	}
	sb := &spoolBatch{seq: seq, batch: registry.UsageBatch{ID: id, Instance: instance, Entries: entriesOf(usage)}, cut: modTime(journalPath)}
	sb.size = estimateSize(len(sb.batch.Entries), 0)
	if err := l.persist(sb); err != nil {
		return nil, err
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
// damage stops the reading, with an error.
func readJournal(path string) (id, instance string, usage map[usageKey]int64, err error) {
	b, err := atomicfile.ReadBounded(path, maxJournalBytes+maxHeaderBytes)
	if err != nil {
		return "", "", nil, err
	}
	return parseJournal(b)
}

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
	for ; len(rest) >= recordSize; rest = rest[recordSize:] {
		r := rest[:recordSize]
		if binary.LittleEndian.Uint32(r[32:36]) != crc32.ChecksumIEEE(r[:32]) || !allZero(r[36:]) {
			if allZero(rest[recordSize:]) {
				// Space reserved after the records (a mapped journal), or a
				// record torn by a crash in front of it: the end.
				return id, instance, usage, nil
			}
			return id, instance, usage, fmt.Errorf("bad record checksum %d bytes from the end", len(rest))
		}
		k := usageKey{
			app:    int64(binary.LittleEndian.Uint64(r[0:])),
			metric: int64(binary.LittleEndian.Uint64(r[8:])),
			minute: int64(binary.LittleEndian.Uint64(r[16:])),
		}
		delta := int64(binary.LittleEndian.Uint64(r[24:]))
		if delta <= 0 || usage[k]+delta < usage[k] {
			return id, instance, usage, fmt.Errorf("bad record delta %d %d bytes from the end", delta, len(rest))
		}
		usage[k] += delta
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
	b, err := json.Marshal(&sb.batch)
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
	path := filepath.Join(l.dir, seqName(sb.seq)+rejectedSuffix)
	if rerr := os.Rename(filepath.Join(l.dir, seqName(sb.seq)+batchSuffix), path); rerr != nil {
		ev = ev.AnErr("rename", rerr)
	}
	ev.Str("file", path).Msg(why + "; set aside, its usage is not counted")
}
