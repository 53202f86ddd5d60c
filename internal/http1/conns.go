package http1

import (
	"net"
	"sync"
)

// ConnStats counts the lean loop's connections as nginx's stub_status
// does: accepted since the start, and those open now, waiting for a
// request, reading one's head, or answering one (writing).
type ConnStats struct {
	Accepted                          uint64
	Active, Waiting, Reading, Writing int
}

// ConnStats reads the connections' states; it costs a walk over them under
// the server's lock, for a metrics scrape, never the request path.
func (s *Server) ConnStats() ConnStats {
	st := ConnStats{Accepted: s.accepted.Load()}
	s.mu.Lock()
	defer s.mu.Unlock()
	for lc := range s.conns {
		st.Active++
		switch {
		case lc.idle.Load():
			st.Waiting++
		case lc.busy.Load():
			st.Writing++
		default:
			st.Reading++
		}
	}
	return st
}

// ConnQueue is a listener whose connections are handed to it: net/http's
// server accepts the lean loop's handed-off connections from one, and the
// gateway's TLS front door hands the lean loop its HTTP/1.1 connections
// through another.
type ConnQueue struct {
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
	addr net.Addr
}

// NewConnQueue returns an open queue whose Addr is addr.
func NewConnQueue(addr net.Addr) *ConnQueue {
	return &ConnQueue{ch: make(chan net.Conn), done: make(chan struct{}), addr: addr}
}

// Put hands c to the queue's Accept, waiting for it; false once the queue
// is closed (c is then the caller's to close).
func (q *ConnQueue) Put(c net.Conn) bool {
	select {
	case q.ch <- c:
		return true
	case <-q.done:
		return false
	}
}

// Accept returns the next connection handed in, or net.ErrClosed.
func (q *ConnQueue) Accept() (net.Conn, error) {
	select {
	case c := <-q.ch:
		return c, nil
	case <-q.done:
		return nil, net.ErrClosed
	}
}

// Close closes the queue; connections not yet accepted stay the putters'.
func (q *ConnQueue) Close() error {
	q.once.Do(func() { close(q.done) })
	return nil
}

// Addr is the address given to NewConnQueue.
func (q *ConnQueue) Addr() net.Addr { return q.addr }
