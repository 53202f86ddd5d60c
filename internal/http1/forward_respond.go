package http1

import (
	"context"
	"io"
	"net/http"
	"time"
)

// respond relays the answer's head and body, and reports whether the
// upstream connection can serve another request.
// o's read timeout, when set, bounds each read of the body.
func (f *Forwarder) respond(w http.ResponseWriter, r *http.Request, uc *upstreamConn, resp *http.Response, o *Options) (keep bool) {
	h := w.Header()
	listed := len(resp.Header["Connection"]) > 0
	for k, vv := range resp.Header {
		if dropped(k) || (listed && ConnectionListed(resp.Header, k)) {
			continue
		}
		h[k] = vv
	}
	w.WriteHeader(resp.StatusCode)
	bp := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(bp)
	buf := *bp
	stream := resp.ContentLength < 0 // flush as it comes: server-sent events, long polls
	rc := http.NewResponseController(w)
	read := o.Read
	if read <= 0 && o.custom() {
		_ = uc.c.SetReadDeadline(time.Time{}) // the head's deadline must not cut the body
	}
	if read > 0 || uc.deadline.IsZero() {
		// No deadline bounds the body's reads (an event stream, a large
		// body), or one its read timeout keeps moving: its client's going
		// away (its request's context ended) cuts the wait for the
		// upstream. A few allocations an answer, for these only.
		stop := context.AfterFunc(r.Context(), func() { _ = uc.c.SetReadDeadline(time.Unix(1, 0)) })
		defer func() {
			if !stop() {
				keep = false // its deadline has passed
			}
		}()
	}
	for {
		if read > 0 {
			_ = uc.c.SetReadDeadline(time.Now().Add(read))
			if r.Context().Err() != nil { // the wake above may have come before this deadline
				_ = uc.c.SetReadDeadline(time.Unix(1, 0))
			}
		}
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				uc.abandon(resp) // the client is gone
				return false
			}
			if stream {
				_ = rc.Flush()
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			// The answer is cut: abort the client's connection rather than
			// let it take a truncated body for a whole one.
			uc.abandon(resp)
			panic(http.ErrAbortHandler)
		}
	}
	resp.Body.Close()
	keep = !resp.Close && uc.br.Buffered() == 0
	return keep
}

// abandon closes the connection, then the answer's body, which is not
// relayed to its end: closed first, net/http's body reader (chunked
// answers, and those http.ReadResponse reads) would read the rest to keep
// the connection, and an event stream's rest may never come, as nginx
// closes its upstream connection when it gives an answer up.
func (uc *upstreamConn) abandon(resp *http.Response) {
	uc.c.Close()
	resp.Body.Close()
}
