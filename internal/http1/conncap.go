package http1

import (
	"net"
	"sync"
	"sync/atomic"
)

// CapListener accepts at most max connections open at once, as nginx's
// worker_connections bounds its own: one more is closed as soon as it is
// accepted. Its connections are Raw's, and each frees its place when it is
// closed, wherever it is served then (the lean loop, TLS, HTTP/2, a
// hijacked tunnel), so the bound holds across them all.
type CapListener struct {
	net.Listener
	max     int64
	open    atomic.Int64
	refused atomic.Uint64
}

// LimitConns returns ln bounded to max connections open at once.
func LimitConns(ln net.Listener, max int) *CapListener {
	return &CapListener{Listener: ln, max: int64(max)}
}

// Accept returns the next connection within the bound, closing those
// beyond it.
func (l *CapListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.open.Add(1) > l.max {
			l.open.Add(-1)
			l.refused.Add(1)
			_ = c.Close()
			continue
		}
		return onClose(Raw(c), l.release), nil
	}
}

func (l *CapListener) release() { l.open.Add(-1) }

// Refused is how many connections were closed for the bound.
func (l *CapListener) Refused() uint64 { return l.refused.Load() }

// closeHooker is a connection that runs a function once when closed
// (rawConn).
type closeHooker interface{ setOnClose(func()) }

// onClose has c run fn once when it is first closed.
func onClose(c net.Conn, fn func()) net.Conn {
	if h, ok := c.(closeHooker); ok {
		h.setOnClose(fn)
		return c
	}
	return &hookedConn{Conn: c, fn: fn}
}

// hookedConn is a connection Raw leaves as it is, with onClose's hook.
type hookedConn struct {
	net.Conn
	once sync.Once
	fn   func()
}

// NetConn is the connection under c, as tls.Conn's.
func (c *hookedConn) NetConn() net.Conn { return c.Conn }

func (c *hookedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.fn)
	return err
}
