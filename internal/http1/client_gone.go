package http1

import "time"

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
//     with both connections, until it writes again. The gateway's
//     forwarders watch the request's context (Forwarder.respond;
//     httputil.ReverseProxy's transport), and so do its policies' calls.
//     A client that sends its end with its request and waits (nc -N)
//     counts as gone once its answer takes longer, as it does for nginx
//     and net/http.
//   - one waiting for the next request since the previous look is ended,
//     as Shutdown ends an idle one: a kept client that sent its end with
//     its last request had both read in one readiness edge, and the loop,
//     which after an answer waits for the next edge without trying a read
//     (server_loop.go), would otherwise hold it for the idle timeout. Its
//     socket is asked once a wait; an end that comes later wakes the wait
//     itself.
//
// One goroutine a server, none a request: a request pays one atomic add,
// and a client's departure is noticed one to two intervals after it.
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
	requests   uint32 // requests begun
	busy, idle bool
	asked      bool // its socket was asked in this state (idle only)
}

// checkClients is one look of watchClients.
func (s *Server) checkClients() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for lc := range s.conns {
		now := clientLook{requests: lc.requests.Load(), busy: lc.busy.Load(), idle: lc.idle.Load()}
		last := lc.look
		lc.look = now
		if now.requests != last.requests || now.busy != last.busy || now.idle != last.idle {
			continue // it moved on since: not stuck in one state for an interval
		}
		switch {
		case now.busy:
			if clientGone(lc.c) {
				lc.cancel()
			}
		case now.idle && !last.asked:
			lc.look.asked = true
			if clientGone(lc.c) {
				_ = lc.c.SetReadDeadline(time.Unix(1, 0)) // wakes the wait, as Shutdown does
			}
		default:
			lc.look.asked = last.asked
		}
	}
}
