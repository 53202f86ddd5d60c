package http1

import "time"

// clientCheckEvery is how often the lean server looks for clients that
// left while their request was still being answered.
const clientCheckEvery = time.Second

// watchClients ends the context of every lean connection whose client left
// (its socket holds the client's end, or a reset) while one request was
// answered for longer than the interval: an upstream that streams an event
// stream, or holds a long poll, is then let go, as net/http's background
// read and nginx's check of a broken connection let it go, rather than
// held, with both connections, until it writes again. The gateway's
// forwarders watch the request's context (Forwarder.respond;
// httputil.ReverseProxy's transport), and so do its policies' calls.
//
// One goroutine a server looks every interval at the connections, none a
// request: a request pays one atomic add. Only a request that was already
// being answered at the previous look has its socket asked (TCP_INFO), so a
// client's departure is noticed one to two intervals after it. A client
// that sends its end with its request and waits (nc -N) counts as gone once
// its answer takes longer, as it does for nginx and net/http.
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

// checkClients is one look of watchClients.
func (s *Server) checkClients() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for lc := range s.conns {
		n := lc.requests.Load()
		if !lc.busy.Load() || n != lc.seen {
			lc.seen = n
			continue
		}
		if clientGone(lc.c) {
			lc.cancel()
		}
	}
}
