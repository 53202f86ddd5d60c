package gossip

import (
	"errors"
	"fmt"
	"math/rand/v2"
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
	seen      uint64            // highest revision heard of
	have      map[string]uint64 // peer → newest revision it said it serves
	refused   map[string]uint64 // peer → newest revision Accept refused from it
	delivered uint64            // highest revision handed to OnComposition
	cache     compressed        // newest document this node can serve, gzip
	plain     plainDoc          // newest document this node holds, as is
	delta     heldDelta         // delta to plain.rev from the revision before it
	offer     announce          // newest announcement heard that carried a delta
	teller    string            // holder of the newest revision heard of, last to say so
	badBase   uint64            // a revision whose document deltas did not apply to
	pending   map[uint64]chan response
	nextID    uint64
	queued    int         // serve requests started and not finished
	ahead     []holderRev // target's scratch, reused (the fetch loop's alone)

	zip   sync.Mutex // one compression at a time
	wake  chan struct{}
	slots chan struct{}
}

func (d *dissemination) init() {
	d.have = map[string]uint64{}
	d.refused = map[string]uint64{}
	d.pending = map[uint64]chan response{}
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
// already, and keeps the delta an announcement carries for the fetcher. A
// revision newer than any heard before is relayed as it came (when relay is
// set); news of a holder wakes the fetcher. It never blocks: memberlist may
// hold its locks.
func (n *Node) heard(a announce, relay bool) {
	rev, holder := a.Revision, a.Holder
	if rev == 0 {
		return
	}
	n.dis.mu.Lock()
	more := false
	if holder != "" && holder != n.cfg.Name && rev > n.dis.have[holder] && rev > n.dis.refused[holder] {
		n.dis.have[holder] = rev
		more = true
	}
	newer := rev > n.dis.seen
	if newer {
		n.dis.seen = rev
	}
	if holder != "" && holder != n.cfg.Name && rev >= n.dis.seen {
		n.dis.teller = holder
	}
	if a.Delta != nil && !n.cfg.wholeOnly && rev > n.dis.offer.Revision && rev > n.dis.refused[holder] {
		n.dis.offer = a
		more = true
	}
	n.dis.mu.Unlock()
	if newer && relay && holder != "" {
		n.queueMessage(a.encode())
	}
	if !newer && !more {
		return
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
	n.dis.mu.Unlock()
}

// fetchLoop fetches the newest revision heard of whenever it is newer than
// what the node has, one fetch at a time, retrying with backoff.
func (n *Node) fetchLoop() {
	backoff := fetchBackoffMin
	for {
		if n.takeOffer() {
			backoff = fetchBackoffMin
			continue
		}
		target := n.target()
		if target == 0 {
			select {
			case <-n.stop:
				return
			case <-n.dis.wake:
			}
			backoff = fetchBackoffMin
			continue
		}
		if n.fetch(target) {
			backoff = fetchBackoffMin
			continue
		}
		t := time.NewTimer(backoff)
		select {
		case <-n.stop:
			t.Stop()
			return
		case <-n.dis.wake:
			t.Stop()
		case <-t.C:
		}
		backoff = min(2*backoff, fetchBackoffMax)
	}
}

// target is the revision to fetch: the newest a live peer serves (and was
// not refused), 0 when the node has it already. A revision only announced,
// by a holder that is gone or was refused, is never waited for: a forged
// announcement cannot stop the node from taking the real next revision.
//
// The fetch loop asks after every peer's news, and at 1,000 nodes a change
// brings 1,000 (each peer's metadata naming its new revision): once the node
// holds the newest revision heard of, the answer is 0 without a look at the
// peers, and otherwise only peers ahead of the node are looked up.
func (n *Node) target() uint64 {
	local := n.local()
	n.dis.mu.Lock()
	if n.dis.seen <= local { // no peer said more (have ≤ seen)
		n.dis.mu.Unlock()
		return 0
	}
	ahead := n.dis.ahead[:0]
	for name, rev := range n.dis.have {
		if rev > local {
			ahead = append(ahead, holderRev{name, rev})
		}
	}
	n.dis.ahead = ahead
	n.dis.mu.Unlock()
	var best uint64
	for _, h := range ahead {
		if h.rev > best && h.name != n.cfg.Name && n.events.isLive(h.name) {
			best = h.rev
		}
	}
	return best
}

// holderRev is a peer and the revision it said it serves.
type holderRev struct {
	name string
	rev  uint64
}

// holders are live peers known to serve target or newer, in random order,
// those of the node's own service first: an agent's view is its service's,
// so they are the peers whose document it can take. Within its group, the
// peer that last said it holds the newest revision comes first: news
// travels from node to node, so asking the teller rather than the origin
// spreads the fetches over the cluster.
func (n *Node) holders(target uint64) []*memberlist.Node {
	var same, other []*memberlist.Node
	n.dis.mu.Lock()
	teller := n.dis.teller
	n.dis.mu.Unlock()
	for _, p := range n.events.live() {
		n.dis.mu.Lock()
		rev := n.dis.have[p.Name]
		n.dis.mu.Unlock()
		if rev < target || p.Name == n.cfg.Name {
			continue
		}
		if p.Meta.Service == n.cfg.Meta.Service {
			same = append(same, p.node())
		} else {
			other = append(other, p.node())
		}
	}
	for _, l := range [][]*memberlist.Node{same, other} {
		rand.Shuffle(len(l), func(i, j int) { l[i], l[j] = l[j], l[i] })
		for i, h := range l {
			if h.Name == teller {
				l[0], l[i] = l[i], l[0]
			}
		}
	}
	return append(same, other...)
}

// fetch asks up to fetchAttempts holders for target, delivering the first
// document that arrives; false when none did. It offers the revision it has
// as a base: a holder with the delta from there sends that instead of the
// whole document, and a delta that does not apply sends the next request
// for the whole document.
func (n *Node) fetch(target uint64) bool {
	holders := n.holders(target)
	if len(holders) == 0 {
		n.log.Debug().Uint64("revision", target).Msg("gossip: no live peer serves the newest revision yet")
		return false
	}
	base := n.current()
	n.dis.mu.Lock()
	useBase := base.doc != nil && !n.cfg.wholeOnly && base.rev != n.dis.badBase
	n.dis.mu.Unlock()
	for _, h := range holders[:min(len(holders), fetchAttempts)] {
		var from uint64
		if useBase {
			from = base.rev
		}
		r, err := n.request(h, target, from)
		if err == nil && r.Revision < target {
			err = fmt.Errorf("sent revision %d", r.Revision)
		}
		if err == nil {
			if r.Doc, err = n.open(r.Doc); err != nil {
				// Another service's agent, or a stranger with the keyring:
				// nothing it sends at this revision will open.
				n.refuse(h.Name, r.Revision)
				n.log.Debug().Err(err).Str("peer", h.Name).Uint64("revision", r.Revision).Msg("gossip: fetched document dropped")
				continue
			}
		}
		got := plainDoc{rev: r.Revision}
		var d heldDelta
		switch {
		case err != nil:
		case r.Base != 0 && r.Base != from:
			err = fmt.Errorf("sent a delta from revision %d, not %d", r.Base, from)
		case r.Base != 0:
			got.doc, got.sum, err = applyDelta(base.doc, n.sumOf(&base), r.Doc)
			got.summed = err == nil
			if err == nil && n.deltaAllowed(base.doc, got.doc) { // a peer's delta across keys is not passed on
				d = heldDelta{base: r.Base, rev: r.Revision, d: r.Doc, to: got.doc}
			}
		default:
			got.doc, err = gunzip(r.Doc)
		}
		if r.Base != 0 && err != nil {
			// Ours is not the document the delta was made from (an agent of
			// another service): ask for whole documents from now on.
			useBase = false
			n.dis.mu.Lock()
			n.dis.badBase = base.rev
			n.dis.mu.Unlock()
		}
		if err == nil && n.cfg.Accept != nil {
			if aerr := n.cfg.Accept(r.Revision, got.doc); aerr != nil {
				n.refuse(h.Name, r.Revision)
				n.log.Debug().Err(aerr).Str("peer", h.Name).Uint64("revision", r.Revision).Msg("gossip: fetched document refused")
				continue
			}
		}
		if err != nil {
			n.log.Debug().Err(err).Str("peer", h.Name).Uint64("revision", target).Msg("gossip: fetch failed")
			if r.ID != 0 && r.Revision < target {
				n.dis.mu.Lock()
				n.dis.have[h.Name] = r.Revision // it told us what it has
				n.dis.mu.Unlock()
			}
			continue
		}
		var gz []byte
		if r.Base == 0 {
			gz = r.Doc
		}
		n.deliver(got, d, gz, h.Name)
		return true
	}
	return false
}

// refuse notes that Accept refused peer's rev: that peer is not asked for it
// again.
func (n *Node) refuse(peer string, rev uint64) {
	n.dis.mu.Lock()
	defer n.dis.mu.Unlock()
	n.dis.refused[peer] = max(n.dis.refused[peer], rev)
	delete(n.dis.have, peer)
}

// request sends a document request to peer and waits for the matching
// response; base, when not 0, asks for a delta from that revision.
func (n *Node) request(peer *memberlist.Node, want, base uint64) (response, error) {
	ch := make(chan response, 1)
	n.dis.mu.Lock()
	n.dis.nextID++
	id := n.dis.nextID
	n.dis.pending[id] = ch
	n.dis.mu.Unlock()
	defer func() {
		n.dis.mu.Lock()
		delete(n.dis.pending, id)
		n.dis.mu.Unlock()
	}()

	msg := request{ID: id, Want: want, From: n.cfg.Name, Addr: n.Addr(), Base: base}.encode()
	if err := n.ml().SendReliable(peer, msg); err != nil {
		return response{}, fmt.Errorf("send request: %w", err)
	}
	t := time.NewTimer(fetchTimeout)
	defer t.Stop()
	select {
	case r := <-ch:
		if r.Err != "" {
			return r, fmt.Errorf("peer: %s", r.Err)
		}
		return r, nil
	case <-t.C:
		return response{}, fmt.Errorf("no response within %s", fetchTimeout)
	case <-n.stop:
		return response{}, ErrShutdown
	}
}

// answered hands a response to the request waiting for it; late or unknown
// responses are dropped.
func (n *Node) answered(r response) {
	n.dis.mu.Lock()
	ch := n.dis.pending[r.ID]
	n.dis.mu.Unlock()
	if ch == nil {
		n.log.Debug().Uint64("id", r.ID).Msg("gossip: dropped a response nobody waits for")
		return
	}
	select {
	case ch <- r:
	default:
	}
}

// deliver hands a document fetched or rebuilt from a delta to OnComposition,
// unless the node has meanwhile reached its revision on its own, then keeps
// it (with its gzip, or the delta it came as) to serve and announces it.
func (n *Node) deliver(p plainDoc, d heldDelta, gz []byte, from string) {
	if p.rev <= n.local() {
		return
	}
	if n.cfg.OnComposition != nil {
		n.cfg.OnComposition(p.rev, p.doc)
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
}
