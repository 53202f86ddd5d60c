//go:build linux

package http1

import (
	"io"
	"sync"
	"time"
)

// sendTimeout bounds how long a write to a client waits for the client to
// read, as nginx's send_timeout (60 s): a client that stops reading would
// otherwise hold its connection, its goroutine and, in the middle of a
// streamed answer, the upstream's connection for ever. It bounds the time
// between two writes that make progress, not a whole answer, so a slow
// download goes on as long as it moves.
const sendTimeout = 60 * time.Second

// sendTimer is a client connection's send timeout. The write deadline is
// set only when a write finds the socket full, before it waits in the
// netpoller (moved again when the write made progress since), and cleared
// once the write is done: a write that does not wait costs nothing more. A
// write deadline the connection's user sets (net/http's, a hijacker's,
// Server's cut) takes its place and is left as it is.
type sendTimer struct {
	timeout time.Duration // zero: none (an upstream's connection)
	armed   bool          // the deadline is set by a write in progress (under wmu)
	at      int           // how much of that write was written when it was set

	mu   sync.Mutex // for user, and the deadline set from it
	user time.Time  // the write deadline the connection's user set; zero: none
}

// armSend sets the send deadline for the write in progress (under wmu),
// which found the socket full.
func (r *rawConn) armSend() {
	t := &r.send
	if t.timeout <= 0 || t.armed && t.at == r.wn {
		return // no timeout, or set already and nothing was written since
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.user.IsZero() {
		return
	}
	t.armed, t.at = true, r.wn
	_ = r.TCPConn.SetWriteDeadline(time.Now().Add(t.timeout))
}

// disarmSend clears the send deadline once the write is done (under wmu),
// back to the user's.
func (r *rawConn) disarmSend() {
	t := &r.send
	t.mu.Lock()
	defer t.mu.Unlock()
	t.armed = false
	_ = r.TCPConn.SetWriteDeadline(t.user)
}

// SetWriteDeadline is the TCPConn's, remembered so that the send timeout
// leaves it in place.
func (r *rawConn) SetWriteDeadline(d time.Time) error {
	if r.send.timeout <= 0 {
		return r.TCPConn.SetWriteDeadline(d)
	}
	r.send.mu.Lock()
	defer r.send.mu.Unlock()
	r.send.user = d
	return r.TCPConn.SetWriteDeadline(d)
}

// SetDeadline is the TCPConn's, its write deadline remembered as
// SetWriteDeadline's.
func (r *rawConn) SetDeadline(d time.Time) error {
	if r.send.timeout <= 0 {
		return r.TCPConn.SetDeadline(d)
	}
	r.send.mu.Lock()
	defer r.send.mu.Unlock()
	r.send.user = d
	return r.TCPConn.SetDeadline(d)
}

// ReadFrom copies src through Write, so that the send timeout is armed as
// for any write: the TCPConn's own ReadFrom (splice) would write around it.
func (r *rawConn) ReadFrom(src io.Reader) (int64, error) {
	return io.Copy(struct{ io.Writer }{r}, src)
}
