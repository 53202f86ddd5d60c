package http1

import "time"

// Bounds of a lingering close (lingerUnread): how long, and how much of
// a request body, it reads and discards at most. nginx's lingering_time is
// 30s, net/http waits 500ms: a second is a few round trips across the
// planet, and at loopback speed the bytes end it first.
const (
	lingerTime     = time.Second
	lingerMaxBytes = 16 << 20
)

// lingerUnread closes a connection in stages when its answer ended it
// while the client may still be sending the request body (an answer the
// handler gave without reading it, such as a 421, a 403 or a 413; or a
// body too large to drain): closed at once, with the body unread, the
// connection would be reset by the kernel, and a reset may erase the
// answer in the client's buffers before the client reads it (RFC 9112
// section 9.6, "Tear-down"). So the server says it is done (a TCP FIN, or
// TLS's close_notify) and reads and discards what is left of the body
// until the client stops sending (its end, or the body's), for at most
// lingerTime and lingerMaxBytes, as nginx's lingering close does; then
// the caller closes. Only an answer that ends a connection with a body
// unread lingers: the path of every other request is unchanged. A client
// that already stopped sending (the body timed out) or a write that
// failed gets none.
func (lc *leanConn) lingerUnread() {
	if lc.body == nil || lc.body.n <= 0 || lc.body.timedOut || lc.w.failed {
		return
	}
	if cw, ok := lc.c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	lc.body.timeout = 0 // bounded as a whole instead
	lc.setDeadline(time.Now().Add(lingerTime))
	_ = lc.body.discard(lingerMaxBytes)
}
