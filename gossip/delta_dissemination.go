package gossip

import (
	"crypto/sha256"
	"time"
)

// badOfferFor is how long an announced delta that did not open or apply is
// skipped: its holder's announcement is relayed to the node many times, and
// each copy would cost another rebuild of the document.
const badOfferFor = time.Minute

// badOffer names an announced delta (holder, revision, base) that did not
// open or apply, until when it is skipped.
type badOffer struct {
	holder    string
	rev, base uint64
	until     time.Time
}

// is tells whether a carries the delta b names, before b runs out.
func (b badOffer) is(a announce, now time.Time) bool {
	return a.Holder == b.holder && a.Revision == b.rev && a.Base == b.base && now.Before(b.until)
}

// skipOffer remembers o as a delta that did not open or apply.
func (n *Node) skipOffer(o announce) {
	n.dis.mu.Lock()
	n.dis.badOffer = badOffer{holder: o.Holder, rev: o.Revision, base: o.Base, until: time.Now().Add(badOfferFor)}
	n.dis.mu.Unlock()
}

// A node keeps the newest document it holds as is, and the delta that leads
// to it from the revision before when it made one (Announce) or was given
// one: it sends that delta in its announcements when it fits and to peers
// that ask from that base, and rebuilds a document from a delta that comes
// in an announcement when the delta's base is the document it holds.

// plainDoc is a document as is, with its SHA-256 once computed.
type plainDoc struct {
	rev    uint64
	doc    []byte
	sum    [sha256.Size]byte
	summed bool
}

// heldDelta leads from revision base to rev; d is nil when there is none.
// to is the document it leads to, which it is sealed for (Envelope.Seal's
// source): the delta carries that document's bytes, not its base's.
type heldDelta struct {
	base, rev uint64
	d         []byte
	to        []byte
}

// current is the newest document the node holds: its Source's, or the last
// it delivered or announced, whichever is newer.
func (n *Node) current() plainDoc {
	rev, doc := n.source()
	n.dis.mu.Lock()
	defer n.dis.mu.Unlock()
	if doc != nil && rev > n.dis.plain.rev {
		return plainDoc{rev: rev, doc: doc}
	}
	return n.dis.plain
}

// sumOf returns p's SHA-256, computing it once and keeping it with the
// node's document when p is that document.
func (n *Node) sumOf(p *plainDoc) [sha256.Size]byte {
	if p.summed {
		return p.sum
	}
	p.sum, p.summed = sha256.Sum256(p.doc), true
	n.dis.mu.Lock()
	defer n.dis.mu.Unlock()
	if cur := n.dis.plain; p.rev > cur.rev || (p.rev == cur.rev && sameBytes(p.doc, cur.doc)) {
		n.dis.plain = *p
	}
	return p.sum
}

// sameBytes reports whether a and b are the same slice, not just equal.
func sameBytes(a, b []byte) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// keepAnnounced records the document of an announced revision and, when the
// node held the one before it, the delta from there, if that is less than
// half the compressed document (else the whole document is as cheap).
func (n *Node) keepAnnounced(rev uint64, gzLen int) {
	srcRev, doc := n.source()
	if srcRev != rev || doc == nil {
		return
	}
	n.dis.mu.Lock()
	prev := n.dis.plain
	n.dis.mu.Unlock()
	var d heldDelta
	if prev.doc != nil && prev.rev < rev && !n.cfg.wholeOnly && n.deltaAllowed(prev.doc, doc) {
		if dd := makeDelta(prev.doc, doc); len(dd) <= gzLen/2 {
			d = heldDelta{base: prev.rev, rev: rev, d: dd, to: doc}
		}
	}
	n.dis.mu.Lock()
	defer n.dis.mu.Unlock()
	if rev > n.dis.plain.rev || (rev == n.dis.plain.rev && n.dis.delta.d == nil) {
		n.dis.plain, n.dis.delta = plainDoc{rev: rev, doc: doc}, d
	}
}

// takeOffer rebuilds the document of the newest announcement that carried a
// delta, when the delta's base is the document the node holds, and delivers
// it once Accept takes it, exactly as a fetched one. False when there was
// nothing to take: the node then fetches.
func (n *Node) takeOffer() bool {
	n.dis.mu.Lock()
	o := n.dis.offer
	n.dis.offer = announce{}
	n.dis.mu.Unlock()
	if o.Delta == nil {
		return false
	}
	cur := n.current()
	if cur.doc == nil || o.Base != cur.rev || o.Revision <= n.local() {
		return false
	}
	plain, err := n.open(o.Delta)
	if err != nil {
		// Sealed for another service: the node fetches, from its own.
		n.skipOffer(o)
		n.log.Debug().Err(err).Str("holder", o.Holder).Uint64("revision", o.Revision).Msg("gossip: announced delta dropped")
		return false
	}
	o.Delta = plain
	doc, sum, err := applyDelta(cur.doc, n.sumOf(&cur), o.Delta)
	if err != nil {
		n.skipOffer(o)
		n.log.Debug().Err(err).Str("holder", o.Holder).Uint64("revision", o.Revision).Msg("gossip: announced delta not taken")
		return false
	}
	if n.cfg.Accept != nil {
		if err := n.cfg.Accept(o.Revision, doc); err != nil {
			// Skipped, its holder not refused: an announcement names its
			// holder, relayed by whoever, and any member could name an
			// honest one with a delta of its own making.
			n.skipOffer(o)
			n.log.Debug().Err(err).Str("holder", o.Holder).Uint64("revision", o.Revision).Msg("gossip: document rebuilt from an announced delta refused")
			return false
		}
	}
	var d heldDelta
	if n.deltaAllowed(cur.doc, doc) { // a peer's delta across keys is not passed on
		d = heldDelta{base: o.Base, rev: o.Revision, d: o.Delta, to: doc}
	}
	return n.deliver(plainDoc{rev: o.Revision, doc: doc, sum: sum, summed: true}, d, nil, o.Holder)
}
