package httpserve

import (
	"net"
	"sync/atomic"
	"time"
)

// sendChunk is the most a connection writes under one send deadline: a
// large answer is sent in pieces, each given Limits.SendTimeout, so a slow
// client that keeps reading is never cut, and one that stopped is.
const sendChunk = 64 << 10

// Listener wraps ln so that every connection it accepts bounds each write
// by l.SendTimeout (DefaultSendTimeout when zero): an answer its client
// reads nothing of for that long fails, and the server closes the
// connection, rather than holding it and its handler forever. Serve a
// server made by New on it; for TLS, wrap the plain listener (ServeTLS
// writes through it).
func Listener(ln net.Listener, l Limits) net.Listener {
	return sendListener{Listener: ln, timeout: l.withDefaults().SendTimeout}
}

type sendListener struct {
	net.Listener
	timeout time.Duration
}

func (l sendListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &sendConn{Conn: c, timeout: l.timeout}, nil
}

// sendConn gives each write its send deadline, or the write deadline set
// on it (by net/http for a TLS handshake, by a handler through
// http.ResponseController) when that comes first. net/http writes from
// one goroutine at a time; a deadline may be set from another.
type sendConn struct {
	net.Conn
	timeout time.Duration
	set     atomic.Int64 // the write deadline set, in Unix nanoseconds; 0: none
}

func (c *sendConn) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		chunk := p[:min(len(p), sendChunk)]
		if err := c.Conn.SetWriteDeadline(c.deadline()); err != nil {
			return n, err
		}
		m, err := c.Conn.Write(chunk)
		n += m
		if err != nil {
			return n, err
		}
		p = p[m:]
	}
	return n, nil
}

// deadline is the deadline of the next write.
func (c *sendConn) deadline() time.Time {
	d := time.Now().Add(c.timeout)
	if set := c.set.Load(); set != 0 && set < d.UnixNano() {
		return time.Unix(0, set)
	}
	return d
}

func (c *sendConn) SetDeadline(t time.Time) error {
	c.store(t)
	return c.Conn.SetDeadline(t)
}

func (c *sendConn) SetWriteDeadline(t time.Time) error {
	c.store(t)
	return c.Conn.SetWriteDeadline(t)
}

func (c *sendConn) store(t time.Time) {
	if t.IsZero() {
		c.set.Store(0)
		return
	}
	c.set.Store(t.UnixNano())
}

// CloseWrite keeps net/http's graceful close (a FIN before the close, so a
// client still sending gets the answer rather than a reset).
func (c *sendConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
