package http1

import (
	"errors"
	"net"
)

// errWouldBlock is what a read inside a ReadLoop returns where Read would
// wait.
var errWouldBlock = errors.New("http1: nothing to read yet")

// readLooper is a connection that serves reads inside one wait for
// readiness (rawConn, on Linux; see ReadLoop).
type readLooper interface {
	ReadLoop(step func(read func([]byte) (int, error)) bool) error
}

// connReader is the reader under a lean connection's buffer: the
// connection's Read, or inside serveInLoop the loop's read, which never
// waits, and is not even tried when the last one emptied the socket.
type connReader struct {
	c       net.Conn
	now     func([]byte) (int, error) // inside serveInLoop
	drained bool                      // inside it: the last read emptied the socket
	// kept: a read after an answer brought a request, so the client
	// waits for answers before it sends more. Until then the wait after
	// an answer tries a read first: a client that sends its requests
	// with its end (a half-close: nc, probes) has both seen in one
	// readiness edge, and no other comes to end the wait; the read finds
	// the end.
	answered, kept bool
}

func (r *connReader) Read(p []byte) (int, error) {
	if r.now == nil {
		return r.c.Read(p)
	}
	if r.drained && r.kept {
		// Nothing has come since: what comes wakes the loop's wait.
		return 0, errWouldBlock
	}
	n, err := r.now(p)
	// A read shorter than asked took all the socket had.
	r.drained = err == errWouldBlock || err == nil && n < len(p)
	r.kept = r.kept || r.answered && n > 0
	return n, err
}

// serveInLoop serves the connection's requests inside its ReadLoop: after
// an answer, a connection whose last read emptied its socket waits for the
// next request without trying a read that would find nothing (one system
// call a request fewer). It stops at a request it cannot serve there: one
// with a body (reading it may wait), one for net/http, or the end; it
// returns that request's head as readHead did.
func (lc *leanConn) serveInLoop(rl readLooper) (int, headState) {
	if lc.stepFn == nil {
		lc.stepFn = lc.step
	}
	lc.loopN, lc.loopState = 0, headDone
	err := rl.ReadLoop(lc.stepFn)
	lc.cr.now = nil
	if err != nil {
		return 0, headDone
	}
	return lc.loopN, lc.loopState
}

// step is ReadLoop's: false to wait for more to read, true when
// serveInLoop is done (loopN and loopState say with what).
func (lc *leanConn) step(read func([]byte) (int, error)) bool {
	lc.cr.now = read
	lc.cr.drained = false // first called, or woken by readiness: read
	for !lc.s.closing.Load() {
		n, st := lc.readHead()
		switch {
		case st == headWait:
			return false
		case st == headOK && lc.head.contentLength == 0:
			if !lc.serve(n) {
				lc.loopState = headDone
				return true
			}
			lc.cr.answered = true
		default:
			lc.loopN, lc.loopState = n, st
			return true
		}
	}
	lc.loopState = headDone
	return true
}
