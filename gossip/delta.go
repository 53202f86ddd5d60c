package gossip

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// A delta turns one document (the base) into another (the target) with two
// operations: copy a run of the base, or insert literal bytes. It names both
// ends by length and SHA-256: a receiver applies it only to the very base it
// was made from and takes the result only when it hashes to the target, so a
// delta leads to the same bytes as the whole document or to nothing.
//
// Layout: "PD" 1, base length (uvarint) and SHA-256, target length (uvarint)
// and SHA-256, then operations until the end: 'C' offset length (uvarints)
// copies base[offset:offset+length]; 'I' length bytes inserts the bytes.
const (
	deltaMagic0, deltaMagic1, deltaVersion = 'P', 'D', 1

	opCopy   byte = 'C'
	opInsert byte = 'I'

	// deltaBlock is the size of the base's blocks the differ looks for in
	// the target: a change costs at most about two blocks of literal around
	// it, and the index holds one entry per block.
	deltaBlock = 32
	// rollMul is the multiplier of the rolling block hash (FNV's prime).
	rollMul uint32 = 16777619
)

// makeDelta encodes target as copies from base and literal inserts. It finds
// base's aligned blocks in target with a rolling hash and stretches each
// match both ways, so a small edit anywhere costs a few dozen bytes.
func makeDelta(base, target []byte) []byte {
	baseSum, targetSum := sha256.Sum256(base), sha256.Sum256(target)
	out := []byte{deltaMagic0, deltaMagic1, deltaVersion}
	out = binary.AppendUvarint(out, uint64(len(base)))
	out = append(out, baseSum[:]...)
	out = binary.AppendUvarint(out, uint64(len(target)))
	out = append(out, targetSum[:]...)

	index := make(map[uint32]int, len(base)/deltaBlock)
	for off := 0; off+deltaBlock <= len(base); off += deltaBlock {
		h := blockHash(base[off : off+deltaBlock])
		if _, ok := index[h]; !ok {
			index[h] = off
		}
	}
	var pow uint32 = 1 // rollMul^(deltaBlock-1): the weight of the byte leaving
	for range deltaBlock - 1 {
		pow *= rollMul
	}

	lit := 0 // start of the literal not yet written
	p := 0
	var h uint32
	if len(target) >= deltaBlock {
		h = blockHash(target[:deltaBlock])
	}
	for p+deltaBlock <= len(target) {
		off, ok := index[h]
		if ok && bytes.Equal(base[off:off+deltaBlock], target[p:p+deltaBlock]) {
			for off > 0 && p > lit && base[off-1] == target[p-1] {
				off, p = off-1, p-1
			}
			n := deltaBlock
			for off+n < len(base) && p+n < len(target) && base[off+n] == target[p+n] {
				n++
			}
			out = appendInsert(out, target[lit:p])
			out = append(out, opCopy)
			out = binary.AppendUvarint(out, uint64(off))
			out = binary.AppendUvarint(out, uint64(n))
			p += n
			lit = p
			if p+deltaBlock <= len(target) {
				h = blockHash(target[p : p+deltaBlock])
			}
			continue
		}
		if p+deltaBlock < len(target) {
			h = (h-uint32(target[p])*pow)*rollMul + uint32(target[p+deltaBlock])
		}
		p++
	}
	return appendInsert(out, target[lit:])
}

func blockHash(b []byte) uint32 {
	var h uint32
	for _, c := range b {
		h = h*rollMul + uint32(c)
	}
	return h
}

func appendInsert(out, lit []byte) []byte {
	if len(lit) == 0 {
		return out
	}
	out = append(out, opInsert)
	out = binary.AppendUvarint(out, uint64(len(lit)))
	return append(out, lit...)
}

// deltaHeader is what a delta says of its two ends.
type deltaHeader struct {
	baseLen, targetLen uint64
	baseSum, targetSum [sha256.Size]byte
	ops                []byte
}

var errDeltaShort = errors.New("delta: truncated")

func parseDeltaHeader(d []byte) (deltaHeader, error) {
	var h deltaHeader
	if len(d) < 3 || d[0] != deltaMagic0 || d[1] != deltaMagic1 {
		return h, errors.New("delta: not a delta")
	}
	if d[2] != deltaVersion {
		return h, fmt.Errorf("delta: unknown version %d", d[2])
	}
	d = d[3:]
	var ok bool
	if h.baseLen, d, ok = takeUvarint(d); !ok || len(d) < sha256.Size {
		return h, errDeltaShort
	}
	d = d[copy(h.baseSum[:], d):]
	if h.targetLen, d, ok = takeUvarint(d); !ok || len(d) < sha256.Size {
		return h, errDeltaShort
	}
	h.ops = d[copy(h.targetSum[:], d):]
	if h.targetLen > MaxDocumentBytes {
		return h, fmt.Errorf("delta: target is %d bytes, over the limit of %d", h.targetLen, MaxDocumentBytes)
	}
	return h, nil
}

// applyDelta rebuilds the target from base, whose SHA-256 is baseSum (the
// caller keeps it), and returns it with its SHA-256. It fails unless base is
// the delta's base and the result is exactly its target.
func applyDelta(base []byte, baseSum [sha256.Size]byte, d []byte) ([]byte, [sha256.Size]byte, error) {
	var none [sha256.Size]byte
	h, err := parseDeltaHeader(d)
	if err != nil {
		return nil, none, err
	}
	if h.baseLen != uint64(len(base)) || h.baseSum != baseSum {
		return nil, none, errors.New("delta: made from another base document")
	}
	// The target's length is only a claim: what a small delta can make is
	// bounded by the copies it holds, so allocate no more than that up front.
	out := make([]byte, 0, min(h.targetLen, 2*uint64(len(base))+uint64(len(d))))
	ops := h.ops
	for len(ops) > 0 {
		op := ops[0]
		ops = ops[1:]
		var a, b uint64
		var ok bool
		switch op {
		case opCopy:
			if a, ops, ok = takeUvarint(ops); !ok {
				return nil, none, errDeltaShort
			}
			if b, ops, ok = takeUvarint(ops); !ok {
				return nil, none, errDeltaShort
			}
			if a > uint64(len(base)) || b > uint64(len(base))-a {
				return nil, none, fmt.Errorf("delta: copy of %d bytes at %d runs past the base's %d", b, a, len(base))
			}
			if b > h.targetLen-uint64(len(out)) {
				return nil, none, errors.New("delta: longer than its target")
			}
			out = append(out, base[a:a+b]...)
		case opInsert:
			if b, ops, ok = takeUvarint(ops); !ok || b > uint64(len(ops)) {
				return nil, none, errDeltaShort
			}
			if b > h.targetLen-uint64(len(out)) {
				return nil, none, errors.New("delta: longer than its target")
			}
			out = append(out, ops[:b]...)
			ops = ops[b:]
		default:
			return nil, none, fmt.Errorf("delta: unknown operation %q", op)
		}
	}
	if uint64(len(out)) != h.targetLen {
		return nil, none, fmt.Errorf("delta: rebuilt %d bytes, its target has %d", len(out), h.targetLen)
	}
	sum := sha256.Sum256(out)
	if sum != h.targetSum {
		return nil, none, errors.New("delta: the rebuilt document does not hash to the target")
	}
	return out, sum, nil
}

func takeUvarint(b []byte) (uint64, []byte, bool) {
	v, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, b, false
	}
	return v, b[n:], true
}
