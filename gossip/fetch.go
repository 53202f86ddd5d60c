package gossip

import (
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/hashicorp/memberlist"
)

// fetchLoop fetches the newest revision heard of whenever it is newer than
// what the node has, one fetch at a time, retrying with backoff.
func (n *Node) fetchLoop() {
	backoff := fetchBackoffMin
	for {
		if n.takeOffer() {
			backoff = fetchBackoffMin
			continue
		}
		target, passed := n.target(nil)
		if target == 0 && !passed {
			select {
			case <-n.stop:
				return
			case <-n.dis.wake:
			}
			backoff = fetchBackoffMin
			continue
		}
		// With every holder ahead passed over, the node looks again once
		// their pause may be over.
		if target != 0 && n.fetch() {
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

// target is the newest revision a live peer says it serves (and was not
// refused), 0 when the node has it already, leaving out the peers in skip.
// A revision only announced, by a holder that is gone or was refused, is
// never waited for: a forged announcement cannot stop the node from
// taking the real next revision. Nor is one whose holders are passed over
// for not answering (stall.go): passed then says some holder ahead of the
// node was.
//
// The fetch loop asks after every peer's news, and at 1,000 nodes a change
// brings 1,000 (each peer's metadata naming its new revision): once the node
// holds the newest revision heard of, the answer is 0 without a look at the
// peers, and otherwise only peers ahead of the node are looked up.
func (n *Node) target(skip map[string]bool) (best uint64, passed bool) {
	local := n.local()
	now := time.Now()
	n.dis.mu.Lock()
	if n.dis.seen <= local { // no peer said more (have ≤ seen)
		n.dis.mu.Unlock()
		return 0, false
	}
	ahead := n.dis.ahead[:0]
	for name, rev := range n.dis.have {
		switch {
		case rev <= local, skip[name]:
		case n.dis.stalledLocked(name, now):
			passed = true
		default:
			ahead = append(ahead, holderRev{name, rev})
		}
	}
	n.dis.ahead = ahead
	n.dis.mu.Unlock()
	for _, h := range ahead {
		if h.rev > best && h.name != n.cfg.Name && n.events.isLive(h.name) {
			best = h.rev
		}
	}
	return best, passed
}

// holderRev is a peer and the revision it said it serves.
type holderRev struct {
	name string
	rev  uint64
}

// holders are live peers said to serve target or newer, but those in skip
// and those passed over (stall.go), in random order, those of the node's
// own service first: an agent's view is its service's, so they are the
// peers whose document it can take. Within its group, the peer that last
// said it holds the newest revision comes first: news travels from node to
// node, so asking the teller rather than the origin spreads the fetches
// over the cluster.
func (n *Node) holders(target uint64, skip map[string]bool) []*memberlist.Node {
	var same, other []*memberlist.Node
	n.dis.mu.Lock()
	teller := n.dis.teller
	n.dis.mu.Unlock()
	now := time.Now()
	for _, p := range n.events.live() {
		n.dis.mu.Lock()
		rev, stalled := n.dis.have[p.Name], n.dis.stalledLocked(p.Name, now)
		n.dis.mu.Unlock()
		if rev < target || stalled || skip[p.Name] || p.Name == n.cfg.Name {
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

// fetch asks up to fetchAttempts holders, one at a time, for any revision
// newer than the node's, delivering the first document that arrives; false
// when none did. Each is the holder of the newest revision said by a peer
// not yet asked: what a holder is said to serve is anyone's to say
// (announcements are relayed), so a holder is asked for no revision in
// particular, and one that has less than it was said to, or does not
// answer, leaves the next ask to the holder of the next revision said. It
// offers the revision it has as a base: a holder with the delta from there
// sends that instead of the whole document, and a delta that does not apply
// sends the next request for the whole document.
func (n *Node) fetch() bool {
	base := n.current()
	want := n.local() + 1
	n.dis.mu.Lock()
	useBase := base.doc != nil && !n.cfg.wholeOnly && base.rev != n.dis.badBase
	n.dis.mu.Unlock()
	asked := map[string]bool{}
	for range fetchAttempts {
		target, _ := n.target(asked)
		var hs []*memberlist.Node
		if target != 0 {
			hs = n.holders(target, asked)
		}
		if len(hs) == 0 {
			if len(asked) == 0 {
				n.log.Debug().Msg("gossip: no live peer serves a newer revision yet")
			}
			return false
		}
		h := hs[0]
		asked[h.Name] = true
		var from uint64
		if useBase {
			from = base.rev
		}
		r, err := n.request(h, want, from)
		if err == nil && r.Revision < want {
			err = fmt.Errorf("sent revision %d", r.Revision)
		}
		if err == nil {
			if r.Doc, err = n.open(r.Doc); err != nil {
				// Another service's agent, or a stranger with the keyring:
				// nothing it sends at this revision will open.
				n.refuse(h.Name, min(r.Revision, target))
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
				n.refuse(h.Name, min(r.Revision, target))
				n.log.Debug().Err(aerr).Str("peer", h.Name).Uint64("revision", r.Revision).Msg("gossip: fetched document refused")
				continue
			}
		}
		if err != nil {
			n.log.Debug().Err(err).Str("peer", h.Name).Uint64("revision", target).Msg("gossip: fetch failed")
			if r.ID != 0 && r.Revision < want {
				n.dis.mu.Lock()
				n.dis.have[h.Name] = r.Revision // it told us what it has
				n.dis.mu.Unlock()
			}
			// A holder that answered it has the revision yet will not send
			// it (over the size gossip sends, or not sealable with the keys
			// it holds) would be asked again every backoff, for as long as
			// its metadata names that revision: it is passed over as one
			// that does not answer is, and asked again, less and less
			// often, in case what kept it from sending has changed.
			if errors.Is(err, errNoAnswer) || r.Err != "" && r.Revision >= want {
				n.stallHolder(h.Name)
			}
			continue
		}
		n.unstallHolder(h.Name)
		var gz []byte
		if r.Base == 0 {
			gz = r.Doc
		}
		return n.deliver(got, d, gz, h.Name)
	}
	return false
}

// refuse notes that Accept refused peer's rev: that peer is not asked for it
// again. Callers pass at most the revision they asked for: a response
// claims its revision itself, and a claim of the top revision must not
// shut the peer out for good.
func (n *Node) refuse(peer string, rev uint64) {
	n.dis.mu.Lock()
	defer n.dis.mu.Unlock()
	n.dis.refused[peer] = max(n.dis.refused[peer], rev)
	delete(n.dis.have, peer)
}

// pendingRequest is a request waiting for its response: only the holder
// it went to may answer it.
type pendingRequest struct {
	peer string
	ch   chan response
}

// request sends a document request to peer and waits for the matching
// response; base, when not 0, asks for a delta from that revision.
func (n *Node) request(peer *memberlist.Node, want, base uint64) (response, error) {
	ch := make(chan response, 1)
	id, err := n.pend(pendingRequest{peer: peer.Name, ch: ch})
	if err != nil {
		return response{}, err
	}
	defer func() {
		n.dis.mu.Lock()
		delete(n.dis.pending, id)
		n.dis.mu.Unlock()
	}()

	msg := request{ID: id, Want: want, From: n.cfg.Name, Addr: n.Addr(), Base: base, Named: true}.encode()
	if err := n.ml().SendReliable(peer, msg); err != nil {
		return response{}, fmt.Errorf("%w: send request: %w", errNoAnswer, err)
	}
	wait := n.fetchWait()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case r := <-ch:
		if r.Err != "" {
			return r, fmt.Errorf("peer: %s", r.Err)
		}
		return r, nil
	case <-t.C:
		return response{}, fmt.Errorf("%w within %s", errNoAnswer, wait)
	case <-n.stop:
		return response{}, ErrShutdown
	}
}

// pend registers p under a fresh random request ID. IDs are random, not
// counted: every keyring holder can send a response, and one that guessed
// the ID of a request it never saw would have its answer taken for the
// holder's, and the holder blamed for it.
func (n *Node) pend(p pendingRequest) (uint64, error) {
	var b [8]byte
	for {
		if _, err := crand.Read(b[:]); err != nil {
			return 0, fmt.Errorf("draw a request id: %w", err)
		}
		id := binary.LittleEndian.Uint64(b[:])
		n.dis.mu.Lock()
		_, taken := n.dis.pending[id]
		if id != 0 && !taken {
			n.dis.pending[id] = p
			n.dis.mu.Unlock()
			return id, nil
		}
		n.dis.mu.Unlock()
	}
}

// answered hands a response to the request waiting for it; late or unknown
// responses, and those naming a responder other than the holder asked, are
// dropped. A response that names no responder comes from a node older than
// the responder field: its ID, random, is what ties it to the request.
func (n *Node) answered(r response) {
	n.dis.mu.Lock()
	p, ok := n.dis.pending[r.ID]
	n.dis.mu.Unlock()
	if !ok {
		n.log.Debug().Uint64("id", r.ID).Msg("gossip: dropped a response nobody waits for")
		return
	}
	if r.From != "" && r.From != p.peer {
		n.log.Debug().Uint64("id", r.ID).Str("responder", r.From).Str("asked", p.peer).Msg("gossip: dropped a response from a node that was not asked")
		return
	}
	select {
	case p.ch <- r:
	default:
	}
}
