package gossip

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// FuzzDelta holds the codec to its one promise: applying the delta from old
// to new to old gives new, byte for byte; and a delta applied to anything
// but its base gives nothing.
func FuzzDelta(f *testing.F) {
	doc := testDoc(f, 1, 4<<10)
	f.Add(doc, editDoc(doc, 1000, "changed"))
	f.Add([]byte{}, []byte("new"))
	f.Add([]byte("old"), []byte{})
	f.Add(bytes.Repeat([]byte("ab"), 100), bytes.Repeat([]byte("ab"), 101))
	f.Fuzz(func(t *testing.T, old, new []byte) {
		d := makeDelta(old, new)
		got, sum, err := applyDelta(old, sha256.Sum256(old), d)
		if err != nil {
			t.Fatalf("apply: %v", err)
		}
		if !bytes.Equal(got, new) || sum != sha256.Sum256(new) {
			t.Fatalf("apply(old, diff(old, new)) = %q, want %q", got, new)
		}
		other := append(bytes.Clone(old), 'x')
		if _, _, err := applyDelta(other, sha256.Sum256(other), d); err == nil {
			t.Fatal("a delta applied to another base was taken")
		}
		// Damage anywhere: an error or the very target, nothing else.
		for i := range d {
			bad := bytes.Clone(d)
			bad[i] ^= 0x5a
			if got, _, err := applyDelta(old, sha256.Sum256(old), bad); err == nil && !bytes.Equal(got, new) {
				t.Fatalf("a delta damaged at byte %d gave another document", i)
			}
		}
	})
}

// editDoc replaces the bytes at off with s.
func editDoc(doc []byte, off int, s string) []byte {
	out := bytes.Clone(doc)
	copy(out[off:], s)
	return out
}

func TestSmallEditMakesSmallDelta(t *testing.T) {
	base := testDoc(t, 1, 200<<10)
	for _, tc := range []struct {
		name   string
		target []byte
		max    int
	}{
		{"same", base, 100},
		{"one edit", editDoc(base, 100<<10, `"pattern":"/new"`), 200},
		{"two edits far apart", editDoc(editDoc(base, 10, "x"), 150<<10, "yyyy"), 300},
		{"insert", append(bytes.Clone(base[:5000]), append([]byte(`{"id":0}`), base[5000:]...)...), 200},
		{"delete", append(bytes.Clone(base[:5000]), base[5100:]...), 200},
		{"appended", append(bytes.Clone(base), `,{"more":1}`...), 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := makeDelta(base, tc.target)
			assert.LessOrEqual(t, len(d), tc.max, "delta of a %d-byte document", len(base))
			got, _, err := applyDelta(base, sha256.Sum256(base), d)
			require.NoError(t, err)
			assert.True(t, bytes.Equal(tc.target, got))
		})
	}
}

func TestDeltaRefusesWhatItWasNotMadeFor(t *testing.T) {
	base := testDoc(t, 1, 8<<10)
	target := editDoc(base, 4000, "changed")
	d := makeDelta(base, target)
	sum := sha256.Sum256(base)

	_, _, err := applyDelta(base[1:], sha256.Sum256(base[1:]), d)
	assert.ErrorContains(t, err, "another base")
	other := editDoc(base, 10, "z")
	_, _, err = applyDelta(other, sha256.Sum256(other), d)
	assert.ErrorContains(t, err, "another base", "same length, other bytes")

	// The literal changed: the result does not hash to the target.
	i := bytes.Index(d, []byte("changed"))
	require.Positive(t, i)
	bad := bytes.Clone(d)
	bad[i] = 'C'
	_, _, err = applyDelta(base, sum, bad)
	assert.ErrorContains(t, err, "does not hash")

	_, _, err = applyDelta(base, sum, d[:len(d)-3])
	assert.Error(t, err, "truncated")
	_, _, err = applyDelta(base, sum, []byte("PD\x02"))
	assert.ErrorContains(t, err, "version")
	_, _, err = applyDelta(base, sum, []byte(`{"json":1}`))
	assert.ErrorContains(t, err, "not a delta")

	over := append([]byte("PD\x01\x00"), make([]byte, 32)...)
	over = binary.AppendUvarint(over, MaxDocumentBytes+1)
	over = append(over, make([]byte, 32)...)
	_, _, err = applyDelta(nil, sha256.Sum256(nil), over)
	assert.ErrorContains(t, err, "over the limit")
}

func BenchmarkMakeDelta(b *testing.B) {
	for _, size := range []int{200 << 10, 2 << 20} {
		base := testDoc(b, 1, size)
		target := editDoc(base, size/2, `"pattern":"/new"`)
		b.Run(fmt.Sprintf("doc=%dKiB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(len(target)))
			for b.Loop() {
				makeDelta(base, target)
			}
		})
	}
}
