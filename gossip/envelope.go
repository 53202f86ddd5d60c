package gossip

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// Envelope seals the documents and deltas a node sends (answers to
// requests, deltas in announcements) and opens those it receives. The
// cluster keyring is shared by every node, so it cannot keep one service's
// composition from another's agents: an Envelope keyed per service can. The
// node keeps documents as they are and computes deltas on them: only the
// wire carries sealed bytes. A payload that does not open is dropped, as
// from a stranger. Its methods are called from several goroutines.
type Envelope interface {
	// Seal returns payload sealed; an error sends nothing. source is the
	// document payload was made from (the document itself when payload is
	// its gzip, the document a delta leads to when it is a delta), kept
	// with the payload since it was made: an Envelope keyed per document
	// (an agent's, by the view's audience) chooses the key from source and
	// never from what the node holds when Seal runs, which may by then be
	// another service's document. source and payload are not to be
	// altered (an Envelope may hold on to the last source, to tell it from
	// the next without parsing it again).
	Seal(payload, source []byte) ([]byte, error)
	// SameKey reports whether documents a and b are sealed under one key.
	// A delta from a to b is sealed for b, yet tells a's length, digest
	// and layout: the node makes, keeps and passes on deltas only between
	// documents of one key.
	SameKey(a, b []byte) bool
	// Open returns what sealed held, or an error when it was not sealed
	// under this envelope's key or was altered on the way.
	Open(sealed []byte) ([]byte, error)
}

// EnvelopeKeySize is the size of a KeyEnvelope's key: AES-256.
const EnvelopeKeySize = 32

// Sealed payload layout: envelopeVersion, a random nonce, then AES-256-GCM
// ciphertext and tag. envelopeLabel is the additional data, so a payload
// sealed for another purpose under the same key does not open here.
const (
	envelopeVersion byte = 1
	envelopeLabel        = "portolan-gossip-envelope-v1"
)

// errNotSealed is what Open says of anything not sealed under its key.
var errNotSealed = errors.New("gossip: payload not sealed under this node's key (another service's, altered, or from a stranger)")

// KeyEnvelope is an Envelope sealing with AES-256-GCM under one key and a
// random nonce per payload.
type KeyEnvelope struct{ aead cipher.AEAD }

// NewKeyEnvelope seals under key, EnvelopeKeySize bytes.
func NewKeyEnvelope(key []byte) (*KeyEnvelope, error) {
	if len(key) != EnvelopeKeySize {
		return nil, fmt.Errorf("gossip envelope key: %d bytes, want %d", len(key), EnvelopeKeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("gossip envelope key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("gossip envelope key: %w", err)
	}
	return &KeyEnvelope{aead: aead}, nil
}

// Seal implements Envelope: one key for every source.
func (e *KeyEnvelope) Seal(plain, _ []byte) ([]byte, error) {
	ns := e.aead.NonceSize()
	out := make([]byte, 1+ns, 1+ns+len(plain)+e.aead.Overhead())
	out[0] = envelopeVersion
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, fmt.Errorf("gossip envelope nonce: %w", err)
	}
	return e.aead.Seal(out, out[1:], plain, []byte(envelopeLabel)), nil
}

// SameKey implements Envelope: one key for every document.
func (e *KeyEnvelope) SameKey(_, _ []byte) bool { return true }

// Open implements Envelope.
func (e *KeyEnvelope) Open(sealed []byte) ([]byte, error) {
	ns := e.aead.NonceSize()
	if len(sealed) < 1+ns+e.aead.Overhead() || sealed[0] != envelopeVersion {
		return nil, errNotSealed
	}
	plain, err := e.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], []byte(envelopeLabel))
	if err != nil {
		return nil, errNotSealed
	}
	return plain, nil
}

// seal applies the node's Envelope to payload, made from the document
// source, before the node sends it; without one the payload goes as it is.
// Callers pass the source kept with the payload (compressed.src,
// heldDelta.to), never the node's current document: that may have changed
// since the payload was chosen.
func (n *Node) seal(payload, source []byte) ([]byte, error) {
	if n.cfg.Envelope == nil || payload == nil {
		return payload, nil
	}
	if source == nil {
		return nil, errors.New("gossip: a payload without the document it was made from is not sealed")
	}
	return n.cfg.Envelope.Seal(payload, source)
}

// deltaAllowed reports whether the node may make, keep or pass on a delta
// from document base to document to (Envelope.SameKey).
func (n *Node) deltaAllowed(base, to []byte) bool {
	return n.cfg.Envelope == nil || n.cfg.Envelope.SameKey(base, to)
}

// open undoes seal on a payload the node received.
func (n *Node) open(sealed []byte) ([]byte, error) {
	if n.cfg.Envelope == nil {
		return sealed, nil
	}
	return n.cfg.Envelope.Open(sealed)
}
