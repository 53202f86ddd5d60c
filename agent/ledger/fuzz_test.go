package ledger

import (
	"bytes"
	"maps"
	"testing"
)

// FuzzJournal: parsing a journal never panics; what parses without an
// error re-encodes to the same usage; and neither a torn last record (a
// crash mid-write) nor the zeros of a mapped journal's reserved space
// changes anything.
func FuzzJournal(f *testing.F) {
	header := []byte("portolan-usage-journal 1 \"svc-host-0a1b2c3d-7\" \"svc-host-0a1b2c3d\"\n")
	f.Add(header)
	f.Add(appendRecord(append([]byte(nil), header...), 12, 3, 29000000, 1))
	f.Add(appendRecord(appendRecord(append([]byte(nil), header...), 12, 3, 29000000, 1), 1<<40, 9, 29000001, 7))
	f.Add([]byte("portolan-usage-journal 1 \"x\"\n\x00\x01"))
	f.Add(append(appendRecord(append([]byte(nil), header...), 12, 3, 29000000, 1), make([]byte, 2*recordSize)...))
	f.Add([]byte("not a journal"))
	f.Fuzz(func(t *testing.T, b []byte) {
		id, instance, usage, err := parseJournal(b)
		if err != nil {
			return
		}
		if id == "" {
			t.Fatalf("parsed without an id: %q", b)
		}
		head := b[:bytes.IndexByte(b, '\n')+1]
		again := append([]byte(nil), head...)
		for k, n := range usage {
			again = appendRecord(again, k.app, k.metric, k.minute, n)
		}
		if _, _, usage2, err := parseJournal(again); err != nil || !maps.Equal(usage, usage2) {
			t.Fatalf("re-encoded journal parses to %v, %v; want %v", usage2, err, usage)
		}
		partial := (len(b) - len(head)) % recordSize
		torn := append(append([]byte(nil), b...), make([]byte, recordSize-1-partial)...)
		id2, instance2, usage2, err := parseJournal(torn)
		if err != nil || id2 != id || instance2 != instance || !maps.Equal(usage, usage2) {
			t.Fatalf("a torn last record changed the result: %v, %v", usage2, err)
		}
		// A mapped journal's records end on a record boundary, then zeros.
		// (A partial record whose missing bytes are zeros is whole once
		// zeros follow it: its copy ended after its checksum.)
		whole := b[:len(head)+(len(b)-len(head))/recordSize*recordSize]
		reserved := append(append([]byte(nil), whole...), make([]byte, 3*recordSize)...)
		if _, _, usage2, err := parseJournal(reserved); err != nil || !maps.Equal(usage, usage2) {
			t.Fatalf("reserved zeros changed the result: %v, %v", usage2, err)
		}
	})
}
