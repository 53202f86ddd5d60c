package usage

import (
	"testing"
)

// FuzzWALRecord holds the record decoder to its contract on any bytes: it
// never panics nor reads past what it says; what it accepts encodes back
// to a record that decodes to the same; and scanning a log of those bytes
// either errs or stops at a record boundary within them. Seeds are in
// testdata/fuzz/FuzzWALRecord.
func FuzzWALRecord(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, n, err := decodeRecord(data)
		if err == nil {
			if n < walHeaderLen || n > len(data) {
				t.Fatalf("decoded %d bytes of %d", n, len(data))
			}
			again, m, err := decodeRecord(encodeRecord(rec.seq, rec.commits))
			if err != nil {
				t.Fatalf("re-encoded record does not decode: %v", err)
			}
			if again.seq != rec.seq || m > n || len(again.commits) != len(rec.commits) {
				t.Fatalf("re-encoded record differs: seq %d/%d, %d/%d bytes, %d/%d commits",
					again.seq, rec.seq, m, n, len(again.commits), len(rec.commits))
			}
			for i, c := range rec.commits {
				d := again.commits[i]
				if c.batchID != d.batchID || c.service != d.service || !c.at.Equal(d.at) || len(c.incs) != len(d.incs) {
					t.Fatalf("commit %d differs after re-encoding", i)
				}
				for j := range c.incs {
					if c.incs[j] != d.incs[j] {
						t.Fatalf("commit %d increment %d differs after re-encoding", i, j)
					}
				}
			}
		}
		recs, end, err := scanWAL(data)
		if err == nil && (end > len(data) || (len(recs) == 0) != (end == 0)) {
			t.Fatalf("scan ended at %d of %d bytes with %d records", end, len(data), len(recs))
		}
	})
}
