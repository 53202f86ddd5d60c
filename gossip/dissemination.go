package gossip

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
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
)

// dissemination is a node's view of who serves which revision.
type dissemination struct {
	mu        sync.Mutex
	seen      uint64            // highest revision heard of
	have      map[string]uint64 // peer → newest revision it said it serves
	refused   map[string]uint64 // peer → newest revision Accept refused from it
	delivered uint64            // highest revision handed to OnComposition
	cache     compressed        // newest document this node can serve, gzip
	pending   map[uint64]chan response
	nextID    uint64
	queued    int // serve requests started and not finished

	zip   sync.Mutex // one compression at a time
	wake  chan struct{}
	slots chan struct{}
}

type compressed struct {
	rev uint64
	gz  []byte
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

func (n *Node) queueAnnounce(rev uint64, holder string) {
	n.broadcasts.QueueBroadcast(announcement{msg: announce{Revision: rev, Holder: holder}.encode()})
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
	return max(rev, n.dis.cache.rev)
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
	if _, err := n.compressed(revision); err != nil {
		return fmt.Errorf("gossip: announce revision %d: %w", revision, err)
	}
	n.dis.mu.Lock()
	n.dis.seen = max(n.dis.seen, revision)
	n.dis.mu.Unlock()
	n.queueAnnounce(revision, n.cfg.Name)
	n.log.Debug().Uint64("revision", revision).Msg("gossip: announced")
	return nil
}

// heard records that holder serves rev (from an announcement, push/pull state
// or metadata), unless that holder's rev was refused already. A revision
// newer than any heard before is relayed (when relay is set); news of a
// holder wakes the fetcher. It never blocks: memberlist may hold its locks.
func (n *Node) heard(rev uint64, holder string, relay bool) {
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
	n.dis.mu.Unlock()
	if newer && relay && holder != "" {
		n.queueAnnounce(rev, holder)
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
	n.heard(m.Meta.Revision, m.Name, false)
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
func (n *Node) target() uint64 {
	local := n.local()
	live := n.events.live()
	n.dis.mu.Lock()
	defer n.dis.mu.Unlock()
	var best uint64
	for _, p := range live {
		if p.Name != n.cfg.Name {
			best = max(best, n.dis.have[p.Name])
		}
	}
	if best > local {
		return best
	}
	return 0
}

// holders are live peers known to serve target or newer, in random order,
// those of the node's own service first: an agent's view is its service's,
// so they are the peers whose document it can take.
func (n *Node) holders(target uint64) []*memberlist.Node {
	var same, other []*memberlist.Node
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
	}
	return append(same, other...)
}

// fetch asks up to fetchAttempts holders for target, delivering the first
// document that arrives; false when none did.
func (n *Node) fetch(target uint64) bool {
	holders := n.holders(target)
	if len(holders) == 0 {
		n.log.Debug().Uint64("revision", target).Msg("gossip: no live peer serves the newest revision yet")
		return false
	}
	for _, h := range holders[:min(len(holders), fetchAttempts)] {
		r, err := n.request(h, target)
		if err == nil && r.Revision < target {
			err = fmt.Errorf("sent revision %d", r.Revision)
		}
		var doc []byte
		if err == nil {
			doc, err = gunzip(r.Doc)
		}
		if err == nil && n.cfg.Accept != nil {
			if aerr := n.cfg.Accept(r.Revision, doc); aerr != nil {
				n.dis.mu.Lock()
				n.dis.refused[h.Name] = max(n.dis.refused[h.Name], r.Revision)
				delete(n.dis.have, h.Name)
				n.dis.mu.Unlock()
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
		n.deliver(r.Revision, doc, r.Doc, h.Name)
		return true
	}
	return false
}

// request sends a document request to peer and waits for the matching
// response.
func (n *Node) request(peer *memberlist.Node, want uint64) (response, error) {
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

	msg := request{ID: id, Want: want, From: n.cfg.Name, Addr: n.Addr()}.encode()
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

// deliver hands a fetched document to OnComposition, unless the node has
// meanwhile reached rev on its own, then keeps it to serve and announces it.
func (n *Node) deliver(rev uint64, doc, gz []byte, from string) {
	if rev <= n.local() {
		return
	}
	if n.cfg.OnComposition != nil {
		n.cfg.OnComposition(rev, doc)
	}
	n.dis.mu.Lock()
	n.dis.delivered = rev
	if rev > n.dis.cache.rev {
		n.dis.cache = compressed{rev: rev, gz: gz}
	}
	n.dis.seen = max(n.dis.seen, rev)
	n.dis.mu.Unlock()
	n.queueAnnounce(rev, n.cfg.Name)
	n.log.Debug().Uint64("revision", rev).Str("from", from).Int("bytes", len(doc)).Msg("gossip: fetched composition")
}

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

	resp := response{ID: r.ID}
	rev, doc := n.source()
	n.dis.mu.Lock()
	cached := n.dis.cache
	n.dis.mu.Unlock()
	switch {
	case cached.rev >= r.Want && cached.rev >= rev:
		resp.Revision, resp.Doc = cached.rev, cached.gz
	case rev >= r.Want && doc != nil:
		gz, err := n.compressed(rev)
		resp.Revision, resp.Doc = rev, gz
		if err != nil {
			resp.Doc, resp.Err = nil, err.Error()
		}
	default:
		resp.Revision = max(cached.rev, rev)
		resp.Err = fmt.Sprintf("has revision %d, not %d", resp.Revision, r.Want)
	}
	to, err := peerNode(r.From, r.Addr)
	if err == nil {
		err = n.ml().SendReliable(to, resp.encode())
	}
	if err != nil {
		n.log.Debug().Err(err).Str("peer", r.From).Msg("gossip: could not answer a document request")
	}
}

// compressed returns the gzip of the Source's document at rev or newer,
// compressing it once and keeping it for every peer that asks.
func (n *Node) compressed(rev uint64) ([]byte, error) {
	n.dis.zip.Lock()
	defer n.dis.zip.Unlock()
	srcRev, doc := n.source()
	n.dis.mu.Lock()
	c := n.dis.cache
	n.dis.mu.Unlock()
	if c.rev >= rev && c.rev >= srcRev {
		return c.gz, nil
	}
	if srcRev < rev || doc == nil {
		return nil, fmt.Errorf("the node's source is at revision %d", srcRev)
	}
	if len(doc) > MaxDocumentBytes {
		return nil, fmt.Errorf("document is %d bytes, over the limit of %d", len(doc), MaxDocumentBytes)
	}
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(doc); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	if buf.Len() > maxWireDoc {
		return nil, fmt.Errorf("document is %d bytes compressed, over memberlist's message limit of %d", buf.Len(), maxWireDoc)
	}
	n.dis.mu.Lock()
	if srcRev > n.dis.cache.rev {
		n.dis.cache = compressed{rev: srcRev, gz: buf.Bytes()}
	}
	n.dis.mu.Unlock()
	return buf.Bytes(), nil
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
