package gossip

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// memNetwork carries memberlist's packets and streams between many nodes in
// one process, without sockets, counting every node's bytes. memberlist's
// own MockNetwork does not fit a thousand nodes: its packet sends block on
// unbuffered channels until the receiver reads, a stopped node's transport
// keeps blocking whoever sends or dials to it, and it cannot add a
// transport while nodes run. Here a packet to a full inbox is lost (as UDP
// loses it), a dial waits up to its timeout, and a stopped node refuses both.
type memNetwork struct {
	mu       sync.RWMutex
	byAddr   map[string]*memTransport
	nextPort int
	lost     atomic.Int64 // packets dropped at a full inbox
}

// memInbox is how many packets wait for a node's packet loop.
const memInbox = 1024

// newTransport adds a node's transport at the next free 127.0.0.1 port.
func (m *memNetwork) newTransport(c *byteCounter) *memTransport {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.byAddr == nil {
		m.byAddr, m.nextPort = map[string]*memTransport{}, 20000
	}
	m.nextPort++
	t := &memTransport{
		net: m, c: c, port: m.nextPort,
		addr:    &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: m.nextPort},
		packets: make(chan *memberlist.Packet, memInbox),
		streams: make(chan net.Conn),
		done:    make(chan struct{}),
	}
	m.byAddr[t.addr.String()] = t
	return t
}

func (m *memNetwork) peer(addr string) (*memTransport, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	t := m.byAddr[addr]
	if t == nil {
		return nil, fmt.Errorf("no route to %s", addr)
	}
	select {
	case <-t.done:
		return nil, fmt.Errorf("%s is shut down", addr)
	default:
		return t, nil
	}
}

// memTransport is one node's end of a memNetwork.
type memTransport struct {
	net     *memNetwork
	c       *byteCounter
	port    int
	addr    *net.UDPAddr
	packets chan *memberlist.Packet
	streams chan net.Conn
	done    chan struct{}
	once    sync.Once
}

var _ memberlist.NodeAwareTransport = (*memTransport)(nil)

func (t *memTransport) FinalAdvertiseAddr(string, int) (net.IP, int, error) {
	return t.addr.IP, t.port, nil
}

func (t *memTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	now := time.Now()
	t.c.sent.Add(int64(len(b)))
	dest, err := t.net.peer(addr)
	if err != nil {
		return now, err
	}
	p := &memberlist.Packet{Buf: append([]byte(nil), b...), From: t.addr, Timestamp: now}
	select {
	case dest.packets <- p:
		dest.c.recv.Add(int64(len(b)))
	default:
		t.net.lost.Add(1)
	}
	return now, nil
}

func (t *memTransport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	return t.WriteTo(b, a.Addr)
}

func (t *memTransport) PacketCh() <-chan *memberlist.Packet { return t.packets }
func (t *memTransport) StreamCh() <-chan net.Conn           { return t.streams }

func (t *memTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	dest, err := t.net.peer(addr)
	if err != nil {
		return nil, err
	}
	mine, theirs := net.Pipe()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case dest.streams <- &countingConn{Conn: theirs, c: dest.c}:
		return &countingConn{Conn: mine, c: t.c}, nil
	case <-dest.done:
		err = fmt.Errorf("%s is shut down", addr)
	case <-t.done:
		err = errors.New("transport is shut down")
	case <-timer.C:
		err = fmt.Errorf("dial %s: timed out after %s", addr, timeout)
	}
	_ = mine.Close()
	_ = theirs.Close()
	return nil, err
}

func (t *memTransport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	return t.DialTimeout(a.Addr, timeout)
}

func (t *memTransport) Shutdown() error {
	t.once.Do(func() { close(t.done) })
	return nil
}
