package httpserve

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of Limits.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultBodyTimeout       = 30 * time.Second
	DefaultIdleTimeout       = 2 * time.Minute
	DefaultMaxHeaderBytes    = 64 << 10
	// DefaultSendTimeout is nginx's send_timeout, as the gateway's.
	DefaultSendTimeout = 60 * time.Second
	// DefaultMaxConns is well above a coordinator's default instance cap
	// (10,000; each agent keeps one connection) and far below what
	// exhausts a process's descriptors.
	DefaultMaxConns = 65536
)

// Limits bound what one client may hold of a listener. Zero fields take the
// defaults.
type Limits struct {
	// ReadHeaderTimeout bounds the request line and headers.
	ReadHeaderTimeout time.Duration
	// BodyTimeout bounds the body, from the end of the headers: a body
	// declared and never sent cannot hold a connection. Unlike
	// http.Server.ReadTimeout it does not cut blocking queries, which read
	// nothing while they wait.
	BodyTimeout time.Duration
	// IdleTimeout bounds a kept-alive connection between requests.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds the request line and headers.
	MaxHeaderBytes int
	// SendTimeout bounds each write of an answer, on the connections of a
	// listener wrapped by Listener: a client that takes nothing of it for
	// this long is disconnected (nginx's send_timeout). An HTTP/2 client
	// may take nothing of one answer while it reads the rest of its
	// connection: a server made by New cuts that stream alone. Unlike
	// http.Server.WriteTimeout it does not cut a long poll or an event
	// stream, which write nothing while they wait.
	SendTimeout time.Duration
	// MaxConns bounds the connections open at once; one more is closed as
	// soon as it is accepted, so that a client opening connections and
	// holding them (each within the timeouts above) cannot exhaust the
	// process's descriptors and memory.
	MaxConns int
}

func (l Limits) withDefaults() Limits {
	if l.ReadHeaderTimeout <= 0 {
		l.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if l.BodyTimeout <= 0 {
		l.BodyTimeout = DefaultBodyTimeout
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = DefaultIdleTimeout
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if l.MaxConns <= 0 {
		l.MaxConns = DefaultMaxConns
	}
	if l.SendTimeout <= 0 {
		l.SendTimeout = DefaultSendTimeout
	}
	return l
}

// New returns a server for h bounded by l. Size limits on bodies stay with
// the handlers (http.MaxBytesReader), which know what they expect.
func New(h http.Handler, l Limits) *http.Server {
	l = l.withDefaults()
	return &http.Server{
		Handler:           BodyDeadline(l.BodyTimeout, streamSendDeadline(l.SendTimeout, h)),
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    l.MaxHeaderBytes,
		ConnState:         connLimit(l.MaxConns),
	}
}

// connLimit counts the server's connections from their first state to
// their last (closed or hijacked: every connection reaches one) and closes
// each one accepted beyond max. Accepting and closing, rather than not
// accepting, keeps the kernel's backlog from holding clients that would
// only time out.
func connLimit(max int) func(net.Conn, http.ConnState) {
	var open atomic.Int64
	return func(c net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			if open.Add(1) > int64(max) {
				_ = c.Close()
			}
		case http.StateClosed, http.StateHijacked:
			open.Add(-1)
		}
	}
}

// BodyDeadline gives a request's body d to arrive, counted from when the
// handler starts; the deadline is lifted once the body has been read to its
// end, so that a handler that then blocks (a long poll) is not cut. A body
// the handler left unread (it refused the request) is not waited for: what
// arrives within unreadBodyGrace is discarded to keep the connection,
// else it is closed once answered.
func BodyDeadline(d time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		// net/http's own writer sets the deadline itself; a wrapped one is
		// reached through a ResponseController. One allocation per request.
		rd, ok := w.(readDeadliner)
		if !ok {
			rd = http.NewResponseController(w)
		}
		if err := rd.SetReadDeadline(time.Now().Add(d)); err != nil {
			next.ServeHTTP(w, r) // not a net/http connection (a test recorder)
			return
		}
		body := &deadlineBody{ReadCloser: r.Body, rd: rd}
		r.Body = body
		next.ServeHTTP(w, r)
		if r.ProtoMajor == 1 && !body.ended.Load() {
			body.unread(r, d)
		}
	})
}

// unreadBodyGrace is how long net/http, answering a request whose handler
// left its body unread, may wait for the rest of it before the answer: a
// body on its way arrives within it, one never sent is not waited for.
const unreadBodyGrace = time.Second

// readDeadliner is the read deadline of a request's connection.
type readDeadliner interface{ SetReadDeadline(time.Time) error }

// deadlineBody lifts the read deadline when the body ends.
type deadlineBody struct {
	io.ReadCloser
	once  sync.Once
	rd    readDeadliner
	ended atomic.Bool // read to its end
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.once.Do(b.lift)
	}
	return n, err
}

// unread hands a body the handler left unread back to net/http, which then
// decides as for any request (a large rest or an unanswered 100-continue
// closes the connection without reading it, closing gracefully), and
// shortens what remains of the body's deadline, d from its start, to
// unreadBodyGrace: net/http discards a small rest before answering.
//
// A body net/http has already read to its end (the handler answered, and
// net/http discarded the body, before it returned; or the handler closed
// it) has net/http's background read pending, which a deadline would cut,
// cancelling the context of every later request on the connection: its
// deadline is lifted instead. A zero-length read tells, without waiting
// past the grace, and without asking a client that expects 100-continue
// for its body.
func (b *deadlineBody) unread(r *http.Request, d time.Duration) {
	r.Body = b.ReadCloser
	_ = b.rd.SetReadDeadline(time.Now().Add(min(d, unreadBodyGrace)))
	if strings.Contains(strings.ToLower(r.Header.Get("Expect")), "100-continue") {
		return
	}
	if _, err := b.ReadCloser.Read(nil); err == io.EOF || errors.Is(err, http.ErrBodyReadAfterClose) {
		b.lift()
	}
}

func (b *deadlineBody) lift() {
	b.ended.Store(true)
	_ = b.rd.SetReadDeadline(time.Time{})
}
