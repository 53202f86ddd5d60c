package usage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"time"
)

// The write-ahead log's record: one group of commits, appended to usage.wal
// with one write and made durable with one fdatasync.
//
//	0   4  payload length n (little endian)
//	4   8  CRC-32C of bytes 0–4 and 8–(16+n): length, sequence, payload
//	8  16  sequence number: 1, 2, 3, … with no gap across files
//	16 16+n payload: the commits, one after the other, each
//	        uvarint len(batch id), batch id, varint service,
//	        varint applied-at (unix ns), uvarint len(increments),
//	        then per increment varint app, metric, minute, delta
//
// Duplicates a group held are not in its record: they wrote nothing.
const (
	walHeaderLen = 16
	// maxRecordPayload bounds a record's payload, so a corrupt length
	// cannot make a reader allocate more; a group closes at walGroupBytes,
	// and one commit may not encode to more than maxCommitBytes.
	maxRecordPayload = 32 << 20
	walGroupBytes    = 1 << 20
	maxCommitBytes   = 16 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Why a record does not decode. errTornRecord: the bytes end inside it.
var (
	errTornRecord    = errors.New("record cut short")
	errCorruptRecord = errors.New("record corrupt")
)

// walRecord is one decoded record.
type walRecord struct {
	seq     uint64
	commits []*usageCommit
}

// appendCommit appends c's encoding to a payload.
func appendCommit(b []byte, c *usageCommit) []byte {
	b = binary.AppendUvarint(b, uint64(len(c.batchID)))
	b = append(b, c.batchID...)
	b = binary.AppendVarint(b, c.service)
	b = binary.AppendVarint(b, c.at.UnixNano())
	b = binary.AppendUvarint(b, uint64(len(c.incs)))
	for _, in := range c.incs {
		b = binary.AppendVarint(b, in.App)
		b = binary.AppendVarint(b, in.Metric)
		b = binary.AppendVarint(b, in.Minute)
		b = binary.AppendVarint(b, in.Delta)
	}
	return b
}

// sealRecord fills the header of rec, a record whose payload follows its
// walHeaderLen reserved bytes.
func sealRecord(rec []byte, seq uint64) {
	binary.LittleEndian.PutUint32(rec[0:4], uint32(len(rec)-walHeaderLen))
	binary.LittleEndian.PutUint64(rec[8:16], seq)
	binary.LittleEndian.PutUint32(rec[4:8], recordCRC(rec))
}

func recordCRC(rec []byte) uint32 {
	return crc32.Update(crc32.Checksum(rec[0:4], castagnoli), castagnoli, rec[8:])
}

// encodeRecord is one record holding commits.
func encodeRecord(seq uint64, commits []*usageCommit) []byte {
	rec := make([]byte, walHeaderLen, walHeaderLen+64*len(commits))
	for _, c := range commits {
		rec = appendCommit(rec, c)
	}
	sealRecord(rec, seq)
	return rec
}

// decodeRecord decodes the record at the start of b and returns it with its
// length in bytes. errTornRecord: b ends before the record does;
// errCorruptRecord: the header or the payload is not one the log writes.
func decodeRecord(b []byte) (walRecord, int, error) {
	if len(b) < walHeaderLen {
		return walRecord{}, 0, errTornRecord
	}
	n := binary.LittleEndian.Uint32(b[0:4])
	seq := binary.LittleEndian.Uint64(b[8:16])
	if n == 0 || n > maxRecordPayload || seq == 0 {
		return walRecord{}, 0, fmt.Errorf("%w: length %d, sequence %d", errCorruptRecord, n, seq)
	}
	end := walHeaderLen + int(n)
	if len(b) < end {
		return walRecord{}, 0, errTornRecord
	}
	if got, want := recordCRC(b[:end]), binary.LittleEndian.Uint32(b[4:8]); got != want {
		return walRecord{}, 0, fmt.Errorf("%w: checksum %08x, header says %08x", errCorruptRecord, got, want)
	}
	commits, err := decodePayload(b[walHeaderLen:end])
	if err != nil {
		return walRecord{}, 0, fmt.Errorf("%w: sequence %d: %w", errCorruptRecord, seq, err)
	}
	return walRecord{seq: seq, commits: commits}, end, nil
}

// payloadReader reads a payload's varints, remembering the first error.
type payloadReader struct {
	b   []byte
	err error
}

func (r *payloadReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errors.New("bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *payloadReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errors.New("bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count reads a length of items at least minBytes each, bounded by what
// is left, so no corrupt length allocates more than the payload holds.
func (r *payloadReader) count(minBytes int) int {
	v := r.uvarint()
	if r.err == nil && v > uint64(len(r.b)/minBytes) {
		r.err = fmt.Errorf("a length of %d overruns the payload", v)
		return 0
	}
	return int(v)
}

func decodePayload(b []byte) ([]*usageCommit, error) {
	r := &payloadReader{b: b}
	var commits []*usageCommit
	for len(r.b) > 0 && r.err == nil {
		c := &usageCommit{}
		if n := r.count(1); r.err == nil {
			c.batchID, r.b = string(r.b[:n]), r.b[n:]
		}
		c.service = r.varint()
		c.at = time.Unix(0, r.varint())
		if n := r.count(4); n > 0 {
			c.incs = make([]Increment, n)
			for i := range c.incs {
				c.incs[i] = Increment{App: r.varint(), Metric: r.varint(), Minute: r.varint(), Delta: r.varint()}
			}
		}
		commits = append(commits, c)
	}
	if r.err != nil {
		return nil, fmt.Errorf("commit %d: %w", len(commits), r.err)
	}
	return commits, nil
}
