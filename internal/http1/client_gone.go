package http1

import (
	"net/http"
	"time"
)

// clientCheckEvery is how often the lean server looks for clients that
// left while their request was still being answered, or while it waited
// for their next one.
const clientCheckEvery = time.Second

// watchClients looks every interval for lean connections whose client has
// left (its socket holds the client's end, or a reset: TCP_INFO's state,
// so that a pipelined request or a TLS close_notify cannot hide the end):
//
//   - one still answering the request it answered at the previous look
//     has its context ended: an upstream that streams an event stream, or
//     holds a long poll, is let go, as net/http's background read and
//     nginx's check of a broken connection let it go, rather than held,
//     with both connections, until it writes again or its timeout. The
//     gateway's forwarders watch the request's context (Forwarder.respond
//     while it relays a body, httputil.ReverseProxy's transport), and so
//     do its policies' calls; a Forwarder waiting for an answer's head
//     tells the connection (awaitsOn), whose wait is woken here.
//     A client that sends its end with its request and waits (nc -N)
//     counts as gone once its answer takes longer, as it does for nginx
//     and net/http; not while its body is still being read (the end
//     follows the body: nginx and net/http watch once it is read).
//   - one waiting for the next request since the previous look is ended,
//     as Shutdown ends an idle one: a kept client that sent its end with
//     its last request had both read in one readiness edge, and the loop,
//     which after an answer waits for the next edge without trying a read
//     (server_loop.go), would otherwise hold it for the idle timeout. Its
//     socket is asked once a wait; an end that comes later wakes the wait
//     itself.
//
// One goroutine a server, none a request: a request pays a few atomic
// operations (and a forwarded one a context lookup), and a client's
// departure is noticed one to two intervals after it.
func (s *Server) watchClients(every time.Duration) {
	defer s.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		s.checkClients()
	}
}

// clientLook is what watchClients saw of a connection at its last look.
type clientLook struct {
	requests            uint32 // requests begun
	busy, idle, reading bool
	asked               bool // its socket was asked in this state (idle only)
}

// checkClients is one look of watchClients.
func (s *Server) checkClients() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for lc := range s.conns {
		now := clientLook{requests: lc.requests.Load(), busy: lc.busy.Load(), idle: lc.idle.Load(), reading: lc.reading.Load()}
		last := lc.look
		lc.look = now
		if now.requests != last.requests || now.busy != last.busy || now.idle != last.idle || now.reading != last.reading {
			continue // it moved on since: not stuck in one state for an interval
		}
		switch {
		case now.busy && now.reading:
			// Its body is not read yet: a client that left mid-upload
			// fails its reads, one that sent all of it and its end waits.
		case now.busy:
			if clientGone(lc.c) {
				lc.ended.Store(true) // before the cancel: serve finds it once the handler returns
				lc.cancel()          // before the wake: the Forwarder finds it cancelled
				if uc := lc.awaiting.Swap(nil); uc != nil {
					_ = uc.c.SetReadDeadline(time.Unix(1, 0))
				}
			}
		case now.idle && !last.asked:
			lc.look.asked = true
			if clientGone(lc.c) {
				lc.endIdle()
			}
		default:
			lc.look.asked = last.asked
		}
	}
}

// endIdle ends lc's wait for its next request, as Shutdown ends an idle
// connection's. The loop may have woken meanwhile with a request that came
// with the client's end: it then serves it not (readHead sees ended), so
// that no deadline passes under a request being served. ended and idle are
// each stored by one side and loaded by the other (sequentially
// consistent): of the two, at least one sees the other's store.
func (lc *leanConn) endIdle() {
	lc.ended.Store(true)
	if lc.idle.Load() {
		_ = lc.c.SetReadDeadline(time.Unix(1, 0))
		return
	}
	lc.ended.Store(false) // it is serving: its client's end is looked at again
}

// leanConnKey is the context key of a lean connection's requests under
// which their connection is.
type leanConnKey struct{}

// awaitsOn tells r's lean connection, if r came on one, that r waits for
// uc's answer, so that watchClients can end the wait when r's client
// leaves; it returns the connection (nil if none) for answered.
func awaitsOn(r *http.Request, uc *upstreamConn) *leanConn {
	lc, _ := r.Context().Value(leanConnKey{}).(*leanConn)
	if lc != nil {
		lc.awaiting.Store(uc)
	}
	return lc
}

// answered ends what awaitsOn began, and reports whether watchClients left
// uc alone: a connection it woke has a passed deadline and must not be
// pooled.
func (lc *leanConn) answered(uc *upstreamConn) bool {
	return lc == nil || lc.awaiting.CompareAndSwap(uc, nil)
}
