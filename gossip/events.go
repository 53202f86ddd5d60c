package gossip

import (
	"net"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// EventKind says what happened to a member.
type EventKind int

// Membership events.
const (
	// Join: a node joined (or came back).
	Join EventKind = iota + 1
	// Leave: a node left on purpose (Node.Leave).
	Leave
	// Dead: failure detection declared a node dead (it stopped answering
	// probes and its suspicion ran out): a crash, a kill or a partition.
	Dead
	// Update: a node changed its metadata.
	Update
)

func (k EventKind) String() string {
	switch k {
	case Join:
		return "join"
	case Leave:
		return "leave"
	case Dead:
		return "dead"
	case Update:
		return "update"
	}
	return "unknown"
}

// Member is a node of the cluster.
type Member struct {
	Name string // instance id
	Addr string // gossip address, IP:PORT
	Meta Meta   // zero when the node's metadata cannot be read
}

// Event is a change in membership.
type Event struct {
	Kind EventKind
	Node Member
}

func member(n *memberlist.Node) Member {
	m, _, _ := decodeMeta(n.Meta)
	return Member{Name: n.Name, Addr: n.Address(), Meta: m}
}

// peer is a live member as the last event showed it.
type peer struct {
	Member
	ip   net.IP
	port uint16
}

// node addresses the peer for memberlist's sends.
func (p peer) node() *memberlist.Node {
	return &memberlist.Node{Name: p.Name, Addr: p.ip, Port: p.port}
}

// events implements memberlist.EventDelegate. memberlist calls it while
// holding its node lock, so it only records and queues: OnMember runs on the
// dispatcher goroutine, where calling back into the node is safe.
//
// It also keeps the table of live members the node answers from: the Nodes
// memberlist.Members returns point into memberlist's own state, which it
// keeps changing under a lock callers cannot take (the race detector
// notices), while the events get a Node to copy under that lock.
type events struct {
	n *Node

	mu        sync.Mutex
	queue     []Event
	closed    bool
	members   map[string]peer
	max       int       // members taken at most (membercap.go)
	capWarned time.Time // when the node last said it is at max
	wake      chan struct{}
}

func newEvents(n *Node, limit int) *events {
	return &events{n: n, wake: make(chan struct{}, 1), members: map[string]peer{}, max: limit}
}

// record copies node into the member table.
func (e *events) record(node *memberlist.Node) Member {
	m := member(node)
	e.mu.Lock()
	e.members[m.Name] = peer{Member: m, ip: slices.Clone(node.Addr), port: node.Port}
	e.n.alive.Store(int32(len(e.members)))
	e.mu.Unlock()
	return m
}

// isLive tells whether name is a live member.
func (e *events) isLive(name string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, ok := e.members[name]
	return ok
}

// peer returns a live member by name.
func (e *events) peer(name string) (peer, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	p, ok := e.members[name]
	return p, ok
}

// live returns every live member.
func (e *events) live() []peer {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]peer, 0, len(e.members))
	for _, p := range e.members {
		out = append(out, p)
	}
	return out
}

func (e *events) NotifyJoin(node *memberlist.Node) {
	m := e.record(node)
	e.n.noteMeta(m)
	e.push(Event{Kind: Join, Node: m})
}

func (e *events) NotifyUpdate(node *memberlist.Node) {
	m := e.record(node)
	e.n.noteMeta(m)
	if _, leaving, _ := decodeMeta(node.Meta); leaving {
		return // Leave follows
	}
	e.push(Event{Kind: Update, Node: m})
}

// NotifyLeave covers both a node that left and one declared dead. memberlist
// records which in its own node state but hands over a Node whose State is
// never set, so Leave flags the departing node's metadata first: a node whose
// last metadata says leaving left, any other died.
func (e *events) NotifyLeave(node *memberlist.Node) {
	kind := Dead
	if _, leaving, _ := decodeMeta(node.Meta); leaving || node.State == memberlist.StateLeft {
		kind = Leave
	}
	e.mu.Lock()
	delete(e.members, node.Name)
	e.n.alive.Store(int32(len(e.members)))
	e.mu.Unlock()
	e.n.forget(node.Name)
	e.push(Event{Kind: kind, Node: member(node)})
}

func (e *events) push(ev Event) {
	if e.n.cfg.OnMember == nil {
		return
	}
	e.mu.Lock()
	if !e.closed {
		e.queue = append(e.queue, ev)
	}
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// run delivers queued events in order until stop closes; events still queued
// then are dropped.
func (e *events) run(stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			e.mu.Lock()
			e.closed, e.queue = true, nil
			e.mu.Unlock()
			return
		case <-e.wake:
		}
		for e.deliverOne(stop) {
		}
	}
}

// deliverOne hands the oldest queued event to OnMember; false when there is
// none or the node is stopping.
func (e *events) deliverOne(stop <-chan struct{}) bool {
	select {
	case <-stop:
		return false
	default:
	}
	e.mu.Lock()
	if len(e.queue) == 0 {
		e.queue = nil
		e.mu.Unlock()
		return false
	}
	ev := e.queue[0]
	e.queue = e.queue[1:]
	e.mu.Unlock()
	e.n.cfg.OnMember(ev)
	return true
}

// NotifyConflict implements memberlist.ConflictDelegate: two live nodes claim
// one name, which should not happen with names unique per incarnation.
func (e *events) NotifyConflict(existing, other *memberlist.Node) {
	e.n.log.Warn().Str("node", existing.Name).Str("addr", existing.Address()).Str("other_addr", other.Address()).
		Msg("gossip: two nodes claim the same name; names must be unique per incarnation")
}
