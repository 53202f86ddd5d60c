package gossip

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// Source is a node's newest composition: revision and JSON document. It is
// called from several goroutines, including memberlist's, and must neither
// block long nor call the node's methods. Revision 0 means none.
type Source interface {
	Latest() (revision uint64, doc []byte)
}

// MaxDocumentBytes bounds a composition document, uncompressed.
const MaxDocumentBytes = 32 << 20

// maxWireDoc bounds a compressed document: memberlist refuses TCP user
// messages over 20 MiB, and the response header needs a little room.
const maxWireDoc = 20<<20 - 4<<10

const (
	fetchTimeout    = 10 * time.Second       // one request/response round trip
	fetchAttempts   = 3                      // holders tried per round
	fetchBackoffMin = 250 * time.Millisecond // between rounds that all failed
	fetchBackoffMax = 5 * time.Second
	serveSlots      = 16  // documents sent at once
	maxServeQueue   = 256 // requests waiting for a slot; more are dropped

	// maxAnnounceBytes bounds an announcement with its delta: it rides in a
	// UDP packet (memberlist's 1,400 bytes) beside memberlist's headers,
	// label, encryption and its own broadcasts. A larger delta stays home
	// and is sent to whoever asks.
	maxAnnounceBytes = 1024
)

// dissemination is a node's view of who serves which revision.
type dissemination struct {
	mu        sync.Mutex
	seen      uint64            // highest revision a live member said it serves
	have      map[string]uint64 // live member → newest revision it said it serves
	refused   map[string]uint64 // peer → newest revision Accept refused from it
	stalled   map[string]stall  // holder → while it is passed over (stall.go)
	delivered uint64            // highest revision handed to OnComposition
	cache     compressed        // newest document this node can serve, gzip
	plain     plainDoc          // newest document this node holds, as is
	delta     heldDelta         // delta to plain.rev from the revision before it
	offer     announce          // newest announcement heard that carried a delta
	badOffer  badOffer          // the last announced delta that did not open or apply
	teller    string            // holder of the newest revision heard of, last to say so
	badBase   uint64            // a revision whose document deltas did not apply to
	pending   map[uint64]pendingRequest
	queued    int         // serve requests started and not finished
	ahead     []holderRev // target's scratch, reused (the fetch loop's alone)

	zip   sync.Mutex // one compression at a time
	wake  chan struct{}
	slots chan struct{}
}

func (d *dissemination) init() {
	d.have = map[string]uint64{}
	d.refused = map[string]uint64{}
	d.stalled = map[string]stall{}
	d.pending = map[uint64]pendingRequest{}
	d.wake = make(chan struct{}, 1)
	d.slots = make(chan struct{}, serveSlots)
}

// announcement is an announce queued for gossip. All share one name, so a
// newer one replaces the one queued before it.
type announcement struct{ msg []byte }

func (a announcement) Invalidates(other memberlist.Broadcast) bool {
	nb, ok := other.(memberlist.NamedBroadcast)
	return ok && nb.Name() == a.Name()
}
func (a announcement) Message() []byte { return a.msg }
func (a announcement) Finished()       {}
func (a announcement) Name() string    { return "portolan/announce" }

// queueAnnounce gossips that holder serves rev, with the node's delta to
// rev when it has one that fits in a packet.
func (n *Node) queueAnnounce(rev uint64, holder string) {
	a := announce{Revision: rev, Holder: holder}
	var to []byte
	n.dis.mu.Lock()
	if d := n.dis.delta; d.rev == rev && d.d != nil {
		a.Base, a.Delta, to = d.base, d.d, d.to
	}
	n.dis.mu.Unlock()
	if a.Delta != nil {
		if sealed, err := n.seal(a.Delta, to); err != nil {
			n.log.Debug().Err(err).Msg("gossip: could not seal a delta (no view key for it yet); announced without it")
			a.Base, a.Delta = 0, nil
		} else {
			a.Delta = sealed
		}
	}
	msg := a.encode()
	if len(msg) > maxAnnounceBytes {
		a.Base, a.Delta = 0, nil
		msg = a.encode()
	}
	n.queueMessage(msg)
}

func (n *Node) queueMessage(msg []byte) {
	n.broadcasts.QueueBroadcast(announcement{msg: msg})
}

func (n *Node) source() (uint64, []byte) {
	if n.cfg.Source == nil {
		return 0, nil
	}
	return n.cfg.Source.Latest()
}

// local is the newest revision this node has: its Source's or the last it
// delivered, whichever is higher.
func (n *Node) local() uint64 {
	rev, _ := n.source()
	n.dis.mu.Lock()
	defer n.dis.mu.Unlock()
	return max(rev, n.dis.delivered)
}

// servable is the newest revision this node can send to a peer.
func (n *Node) servable() uint64 {
	rev, doc := n.source()
	if doc == nil {
		rev = 0
	}
	n.dis.mu.Lock()
	defer n.dis.mu.Unlock()
	return max(rev, n.dis.cache.rev, n.dis.plain.rev)
}

// Announce broadcasts that this node serves revision, which its Source must
// already return. Receivers that are behind fetch the document from this node
// or from any other that has it by then, and relay the news; those at or past
// revision ignore it. Announce compresses the document first and fails if it
// is over MaxDocumentBytes.
func (n *Node) Announce(revision uint64) error {
	if n.isClosed() {
		return ErrShutdown
	}
	if revision == 0 {
		return errors.New("gossip: announce: revision 0 is no revision")
	}
	gz, err := n.compressed(revision)
	if err != nil {
		return fmt.Errorf("gossip: announce revision %d: %w", revision, err)
	}
	n.keepAnnounced(revision, len(gz))
	n.dis.mu.Lock()
	n.dis.seen = max(n.dis.seen, revision)
	n.dis.mu.Unlock()
	n.queueAnnounce(revision, n.cfg.Name)
	n.log.Debug().Uint64("revision", revision).Msg("gossip: announced")
	return nil
}

// heard records that a.Holder serves a.Revision (from an announcement,
// push/pull state or metadata), unless that holder's revision was refused
// already, and keeps the delta an announcement carries for the fetcher.
//
// Only live members count as holders: any keyring holder can name others,
// and what it names must neither grow the node's state beyond the
// membership nor move what the node waits for. News that is new for its
// holder, of a revision the node does not have, is relayed as it came
// (when relay is set): judged per holder and against the node's own
// revision, one forged top revision cannot stop the node relaying the real
// ones. News of a holder wakes the fetcher. It never blocks: memberlist may
// hold its locks.
func (n *Node) heard(a announce, relay bool) {
	rev, holder := a.Revision, a.Holder
	if rev == 0 || holder == "" || holder == n.cfg.Name || !n.events.isLive(holder) {
		return
	}
	n.dis.mu.Lock()
	fresh := rev > n.dis.have[holder] && rev > n.dis.refused[holder]
	if fresh {
		n.dis.have[holder] = rev
	}
	n.dis.seen = max(n.dis.seen, rev)
	if rev >= n.dis.seen {
		n.dis.teller = holder
	}
	offered := false
	if a.Delta != nil && !n.cfg.wholeOnly && rev > n.dis.offer.Revision && rev > n.dis.refused[holder] && !n.dis.badOffer.is(a, time.Now()) {
		n.dis.offer = a
		offered = true
	}
	n.dis.mu.Unlock()
	if !fresh && !offered {
		return
	}
	if fresh && relay && rev > n.local() {
		n.queueMessage(a.encode())
	}
	select {
	case n.dis.wake <- struct{}{}:
	default:
	}
}

// noteMeta learns the revision a member's metadata reports.
func (n *Node) noteMeta(m Member) {
	if m.Name == n.cfg.Name {
		return
	}
	n.heard(announce{Revision: m.Meta.Revision, Holder: m.Name}, false)
}

// forget drops what a node that died or left said it serves.
func (n *Node) forget(name string) {
	n.dis.mu.Lock()
	delete(n.dis.have, name)
	delete(n.dis.refused, name)
	delete(n.dis.stalled, name)
	n.dis.mu.Unlock()
}

// deliver hands a document fetched or rebuilt from a delta to OnComposition,
// unless the node has meanwhile reached its revision on its own, then keeps
// it (with its gzip, or the delta it came as) to serve and announces it.
//
// A node with a Source takes the document only when its Source reports it
// (or a newer one) once OnComposition returns: one OnComposition could not
// keep (an agent whose cache cannot be written, its disk full) is neither
// kept nor served nor counted as held, and deliver reports false, so that
// the node fetches it again, after a pause, rather than never.
func (n *Node) deliver(p plainDoc, d heldDelta, gz []byte, from string) bool {
	if p.rev <= n.local() {
		return true
	}
	if n.cfg.OnComposition != nil {
		n.cfg.OnComposition(p.rev, p.doc)
		if rev, _ := n.source(); n.cfg.Source != nil && rev < p.rev {
			n.log.Debug().Uint64("revision", p.rev).Uint64("held", rev).Str("from", from).
				Msg("gossip: the fetched composition was not taken (see the error before); it is fetched again shortly")
			return false
		}
	}
	n.dis.mu.Lock()
	n.dis.delivered = p.rev
	if gz != nil && p.rev > n.dis.cache.rev {
		n.dis.cache = compressed{rev: p.rev, gz: gz, src: p.doc}
	}
	if p.rev >= n.dis.plain.rev {
		n.dis.plain, n.dis.delta = p, d
	}
	n.dis.seen = max(n.dis.seen, p.rev)
	n.dis.mu.Unlock()
	n.queueAnnounce(p.rev, n.cfg.Name)
	n.log.Debug().Uint64("revision", p.rev).Str("from", from).Int("bytes", len(p.doc)).Bool("delta", d.d != nil).Msg("gossip: fetched composition")
	return true
}
