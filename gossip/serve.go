package gossip

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"time"
)

// serveLater answers a document request on a goroutine of its own: memberlist
// may be calling from its packet loop. Only a live member is answered, at
// the address membership knows it by, never at one the request names: the
// answer is up to 20 MB, and any keyring holder could otherwise aim it at
// any address. A node that has just joined may ask before its join reaches
// this node (it learns of holders from the member it joined through), so a
// request from a stranger is held up to requesterWait for it to become one.
func (n *Node) serveLater(r request) {
	if r.From == n.cfg.Name {
		return
	}
	n.dis.mu.Lock()
	full := n.dis.queued >= maxServeQueue
	if !full {
		n.dis.queued++
	}
	n.dis.mu.Unlock()
	if full {
		n.log.Debug().Str("peer", r.From).Msg("gossip: too many document requests; dropped one")
		return
	}
	started := n.goRun(func() {
		defer n.serveDone()
		if !n.awaitMember(r.From) {
			n.log.Debug().Str("peer", r.From).Msg("gossip: dropped a document request from a node that is not a live member")
			return
		}
		n.serve(r)
	})
	if !started {
		n.serveDone()
	}
}

// requesterWait is how long a document request from a node not (yet) a
// live member is held: a join spreads to every member within a few gossip
// rounds.
const requesterWait = 2 * time.Second

// awaitMember waits up to requesterWait for name to be a live member.
func (n *Node) awaitMember(name string) bool {
	if n.events.isLive(name) {
		return true
	}
	t := time.NewTimer(requesterWait)
	defer t.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-n.stop:
			return false
		case <-t.C:
			return n.events.isLive(name)
		case <-tick.C:
			if n.events.isLive(name) {
				return true
			}
		}
	}
}

func (n *Node) serveDone() {
	n.dis.mu.Lock()
	n.dis.queued--
	n.dis.mu.Unlock()
}

func (n *Node) serve(r request) {
	select {
	case n.dis.slots <- struct{}{}:
	case <-n.stop:
		return
	}
	defer func() { <-n.dis.slots }()

	// Each payload is chosen together with the document it was made from,
	// and sealed for that document: the node's own may change meanwhile.
	resp := response{ID: r.ID}
	if r.Named {
		resp.From = n.cfg.Name
	}
	var src []byte
	cur := n.current()
	n.dis.mu.Lock()
	cached, d := n.dis.cache, n.dis.delta
	n.dis.mu.Unlock()
	switch {
	case r.Base != 0 && d.d != nil && d.base == r.Base && d.rev >= r.Want && d.rev >= cur.rev && d.rev >= cached.rev:
		resp.Revision, resp.Base, resp.Doc, src = d.rev, d.base, d.d, d.to
	case cached.rev >= r.Want && cached.rev >= cur.rev:
		resp.Revision, resp.Doc, src = cached.rev, cached.gz, cached.src
	case cur.rev >= r.Want && cur.doc != nil:
		c, err := n.zipped(cur.rev)
		resp.Revision, resp.Doc, src = c.rev, c.gz, c.src
		if err != nil {
			resp.Revision, resp.Doc, resp.Err = cur.rev, nil, err.Error()
		}
	default:
		resp.Revision = max(cached.rev, cur.rev)
		resp.Err = fmt.Sprintf("has revision %d, not %d", resp.Revision, r.Want)
	}
	if resp.Doc != nil {
		if sealed, err := n.seal(resp.Doc, src); err != nil {
			n.log.Debug().Err(err).Msg("gossip: could not seal a document for a peer (no view key for it yet)")
			resp.Doc, resp.Base, resp.Err = nil, 0, "could not seal the document"
		} else {
			resp.Doc = sealed
		}
	}
	p, ok := n.events.peer(r.From)
	if !ok {
		n.log.Debug().Str("peer", r.From).Msg("gossip: the requester left before its document was ready; not answered")
		return
	}
	if err := n.ml().SendReliable(p.node(), resp.encode()); err != nil {
		n.log.Debug().Err(err).Str("peer", r.From).Msg("gossip: could not answer a document request")
	}
}

// compressed is the gzip of a document, kept with that document: it is
// what the gzip is sealed for (Envelope.Seal's source).
type compressed struct {
	rev uint64
	gz  []byte
	src []byte
}

// compressed returns the gzip of the node's document at rev or newer (its
// Source's, or the one it fetched), compressing it once and keeping it for
// every peer that asks.
func (n *Node) compressed(rev uint64) ([]byte, error) {
	c, err := n.zipped(rev)
	return c.gz, err
}

// zipped is compressed with the revision and the document the gzip was made
// from, which is what it is sealed for.
func (n *Node) zipped(rev uint64) (compressed, error) {
	n.dis.zip.Lock()
	defer n.dis.zip.Unlock()
	cur := n.current()
	srcRev, doc := cur.rev, cur.doc
	n.dis.mu.Lock()
	c := n.dis.cache
	n.dis.mu.Unlock()
	if c.rev >= rev && c.rev >= srcRev {
		return c, nil
	}
	if srcRev < rev || doc == nil {
		return compressed{}, fmt.Errorf("the node's source is at revision %d", srcRev)
	}
	if len(doc) > MaxDocumentBytes {
		return compressed{}, fmt.Errorf("document is %d bytes, over the limit of %d", len(doc), MaxDocumentBytes)
	}
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(doc); err != nil {
		return compressed{}, fmt.Errorf("compress document: %w", err)
	}
	if err := w.Close(); err != nil {
		return compressed{}, fmt.Errorf("compress document: %w", err)
	}
	if buf.Len() > maxWireDoc {
		return compressed{}, fmt.Errorf("document is %d bytes compressed, over memberlist's message limit of %d", buf.Len(), maxWireDoc)
	}
	c = compressed{rev: srcRev, gz: buf.Bytes(), src: doc}
	n.dis.mu.Lock()
	if srcRev > n.dis.cache.rev {
		n.dis.cache = c
	}
	n.dis.mu.Unlock()
	return c, nil
}

// gunzip decompresses a fetched document, refusing more than
// MaxDocumentBytes.
func gunzip(gz []byte) ([]byte, error) {
	if len(gz) > maxWireDoc {
		return nil, fmt.Errorf("compressed document is %d bytes, over the limit of %d", len(gz), maxWireDoc)
	}
	r, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("document: %w", err)
	}
	doc, err := io.ReadAll(io.LimitReader(r, MaxDocumentBytes+1))
	if err != nil {
		return nil, fmt.Errorf("document: %w", err)
	}
	if len(doc) > MaxDocumentBytes {
		return nil, fmt.Errorf("document is over the limit of %d bytes", MaxDocumentBytes)
	}
	return doc, nil
}

// Unsealed reports whether payload, a document or a delta received from a
// peer, travels as a node without an Envelope sends it (an agent older
// than view keys): a gzip document (RFC 1952 section 2.3.1: ID1 0x1f, ID2
// 0x8b) or a delta ("PD" and its version). A sealed payload starts with
// envelopeVersion (1), so neither is taken for the other: a payload sealed
// under another key is never Unsealed.
func Unsealed(payload []byte) bool {
	switch {
	case len(payload) >= 2 && payload[0] == 0x1f && payload[1] == 0x8b:
		return true
	case len(payload) >= 3 && payload[0] == deltaMagic0 && payload[1] == deltaMagic1 && payload[2] == deltaVersion:
		return true
	}
	return false
}
