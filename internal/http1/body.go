package http1

import (
	"bufio"
	"io"
	"net/http"
	"sync"
	"time"
)

// leanBody reads a body of a known length from a connection's buffer: a
// request's, or an upstream's answer's.
//
// A request's is read within the body timeout: a read that waits for the
// connection finds a read deadline between half the timeout and all of it
// away, moved only when less than half is left (a deadline update per
// read would cost more than the precision is worth). What came with the
// head is read from the buffer, with no deadline moved.
type leanBody struct {
	br       *bufio.Reader
	n        int64         // left to read
	lc       *leanConn     // a request's: whose deadline bounds the reads; nil for an answer's
	timeout  time.Duration // the body timeout; 0: none
	timedOut bool          // the client stopped sending it: every read fails, and the connection closes
}

func (b *leanBody) Read(p []byte) (int, error) {
	if b.n <= 0 {
		return 0, io.EOF
	}
	if b.timeout > 0 {
		if b.timedOut {
			return 0, ErrBodyTimeout
		}
		if b.br.Buffered() == 0 {
			b.lc.extendBody(b.timeout)
		}
	}
	if int64(len(p)) > b.n {
		p = p[:b.n]
	}
	n, err := b.br.Read(p)
	if b.n -= int64(n); b.n == 0 && b.lc != nil {
		b.lc.reading.Store(false) // the client's end may follow: it is looked at from now on
	}
	if err == io.EOF && b.n > 0 {
		err = io.ErrUnexpectedEOF
	}
	if err != nil && b.timeout > 0 && IsTimeout(err) {
		b.timedOut, err = true, ErrBodyTimeout
	}
	return n, err
}

// extendBody moves the read deadline for a request body's next read: to
// d from now, when less than half of d is left (or more than d: the wait
// for the head's).
func (lc *leanConn) extendBody(d time.Duration) {
	now := time.Now()
	if left := lc.deadline.Sub(now); lc.deadline.IsZero() || left < d/2 || left > d {
		lc.setDeadline(now.Add(d))
	}
}

func (b *leanBody) Close() error { return nil }

// requestBody is a request's body in the lean loop. The handler may leave a
// goroutine reading it after it returned: Go's Transport hands back the
// upstream's answer as soon as it comes while its write loop still sends
// the body (RoundTrip "may close the body in a separate goroutine even
// after RoundTrip returns"), and that is the gateway's
// httputil.ReverseProxy path. So, as net/http's server does, Read holds mu
// and fails once the handler returned; the server then reads what is left
// itself (discard), and never the same buffer as that goroutine. Each
// request has its own (an allocation for requests with a body only): a
// reader left behind holds the last one, closed for good.
type requestBody struct {
	mu     sync.Mutex // held by Read: Close waits for a read in progress
	closed bool       // Read fails: the handler returned, or closed it
	leanBody
}

// newBody is the body of the request being served, contentLength long.
func (lc *leanConn) newBody(contentLength int64) *requestBody {
	return &requestBody{leanBody: leanBody{br: lc.br, lc: lc, n: contentLength, timeout: lc.s.BodyTimeout}}
}

func (b *requestBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, http.ErrBodyReadAfterClose
	}
	return b.leanBody.Read(p)
}

// Close makes every later Read fail with http.ErrBodyReadAfterClose, as
// net/http's request bodies do; a read in progress is waited for (it is
// bounded by the body timeout). The server closes it too once the handler
// returned.
func (b *requestBody) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	return nil
}

// release closes b without waiting: false when a read is in progress in a
// goroutine the handler left behind, which may be waiting for its client to
// send more, and its client for the answer (Close then waits, once the
// answer is out).
func (b *requestBody) release() bool {
	if !b.mu.TryLock() {
		return false
	}
	b.closed = true
	b.mu.Unlock()
	return true
}

// discard reads and drops at most limit bytes of what is left of the body:
// the server's own read, once the body is closed to the handler. It is
// bounded by the read deadline the caller set.
func (b *requestBody) discard(limit int64) error {
	n, err := b.br.Discard(int(min(b.n, limit)))
	b.n -= int64(n)
	return err
}

// finishWithBody completes the answer to a request with a body once the
// handler returned, takes the body back from the handler and reads what it
// left of it, so that the next request starts where it should; it reports
// whether the connection can serve another.
func (lc *leanConn) finishWithBody() bool {
	b := lc.body
	released := b.release()
	if released && (b.n > leanMaxDrain || b.timedOut) {
		lc.w.closeAfter = true
	}
	keep := lc.w.finish()
	if !released {
		_ = b.Close() // the answer is out: now wait for the read in progress
		keep = keep && b.n <= leanMaxDrain && !b.timedOut
	}
	if !keep {
		lc.lingerUnread()
		return false
	}
	if b.n > 0 {
		b.timeout = 0 // bounded as a whole instead
		lc.setDeadline(time.Now().Add(leanHeaderTimeout))
		if err := b.discard(b.n); err != nil || b.n > 0 {
			return false
		}
	}
	return true
}
