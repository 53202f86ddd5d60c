package gossip

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"strconv"

	"github.com/hashicorp/memberlist"
)

// serveLater answers a document request on a goroutine of its own: memberlist
// may be calling from its packet loop.
func (n *Node) serveLater(r request) {
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
		n.serve(r)
	})
	if !started {
		n.serveDone()
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
	to, err := peerNode(r.From, r.Addr)
	if err == nil {
		err = n.ml().SendReliable(to, resp.encode())
	}
	if err != nil {
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

// peerNode addresses a requester by name and gossip address.
func peerNode(name, addr string) (*memberlist.Node, error) {
	host, ps, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("requester address %q: %w", addr, err)
	}
	ip := net.ParseIP(host)
	port, err := strconv.ParseUint(ps, 10, 16)
	if ip == nil || err != nil {
		return nil, fmt.Errorf("requester address %q is not IP:PORT", addr)
	}
	return &memberlist.Node{Name: name, Addr: ip, Port: uint16(port)}, nil
}
