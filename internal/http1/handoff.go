package http1

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"time"
)

// handoff gives the connection, with what is buffered of it, to net/http.
func (s *Server) handoff(lc *leanConn) bool {
	if !lc.deadline.IsZero() {
		lc.setDeadline(time.Time{}) // net/http sets its own
	}
	return s.handoffs.Put(&handoffConn{Conn: lc.c, r: lc.br})
}

// handoffConn is a connection handed to net/http: reads go through the lean
// loop's buffer first, which holds the request net/http is to parse, and
// through the framing check, which holds every request net/http reads to
// the framing rule (framing.go).
type handoffConn struct {
	net.Conn
	r   *bufio.Reader
	f   framingCheck
	err error // errFraming once refused: every read after fails
}

func (c *handoffConn) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.r.Read(p)
	k, ferr := c.f.scan(p[:n])
	if ferr != nil {
		c.err = ferr
		if k == 0 {
			return 0, ferr
		}
		return k, nil
	}
	return n, err
}

// CloseWrite ends the connection's sending side. net/http looks for it on
// the connection it serves before it closes one whose request body it left
// unread (closeWriteAndWait: a FIN, a wait, then the close), so that the
// reset the unread body causes at the close does not erase the answer
// before the client reads it; embedding net.Conn would hide the method.
func (c *handoffConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}

// tlsStateKey holds, in a handed-off connection's context, the TLS state of
// the connection under it: net/http sets Request.TLS only for a *tls.Conn it
// handshakes itself.
type tlsStateKey struct{}

func tlsStateContext(ctx context.Context, c net.Conn) context.Context {
	if hc, ok := c.(*handoffConn); ok {
		if tc, ok := hc.Conn.(*tls.Conn); ok {
			st := tc.ConnectionState()
			return context.WithValue(ctx, tlsStateKey{}, &st)
		}
	}
	return ctx
}

// tlsState sets Request.TLS of requests on a handed-off TLS connection.
type tlsState struct{ h http.Handler }

func (t tlsState) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if st, ok := r.Context().Value(tlsStateKey{}).(*tls.ConnectionState); ok && r.TLS == nil {
		r.TLS = st
	}
	t.h.ServeHTTP(w, r)
}
