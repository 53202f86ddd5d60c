package http1

import (
	"net"
	"time"
)

// awaitIdle is how long a pooled connection may have been idle for its
// request to be sent with WriteAwait. An upstream that closes an idle
// connection with a lingering close (shutdown of its side, then reading
// for a while, as Apache's httpd does) would otherwise leave the request
// waiting for that while instead of failing at once and going to a fresh
// connection: the end it sent before the request went out is readiness
// WriteAwait forgets. Under load connections come back within
// microseconds; a quiet gateway has no system calls to save.
const awaitIdle = 50 * time.Millisecond

// writeAwaiter is a connection that can write and then wait for an answer
// without reading first (rawConn).
type writeAwaiter interface {
	WriteAwait(p []byte) (int, error)
}

// awaitWriter is the writer under an upstream connection's buffer: while
// await is set (the last flush of a request), a write also waits for the
// answer, so that reading it takes one system call instead of two.
type awaitWriter struct {
	c     net.Conn
	await bool
	sent  bool // part of the request went out before its last flush
}

func (w *awaitWriter) Write(p []byte) (int, error) {
	if w.await {
		if wa, ok := w.c.(writeAwaiter); ok {
			return wa.WriteAwait(p)
		}
	}
	w.sent = true
	return w.c.Write(p)
}

// flush sends what writeRequest left in the buffer. The write waits for
// the answer when none of the request went out before (a request whose
// body filled the buffer may be answered early, as with a 413, and that
// answer's readiness would be forgotten) and the connection is recent
// (awaitIdle).
func (uc *upstreamConn) flush() error {
	uc.w.await = uc.recent && !uc.w.sent
	err := uc.bw.Flush()
	uc.w.await, uc.w.sent = false, false
	return err
}
