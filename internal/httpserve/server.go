package httpserve

import (
	"io"
	"net"
	"net/http"
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
	return l
}

// New returns a server for h bounded by l. Size limits on bodies stay with
// the handlers (http.MaxBytesReader), which know what they expect.
func New(h http.Handler, l Limits) *http.Server {
	l = l.withDefaults()
	return &http.Server{
		Handler:           BodyDeadline(l.BodyTimeout, h),
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
// end, so that a handler that then blocks (a long poll) is not cut.
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
		r.Body = &deadlineBody{ReadCloser: r.Body, rd: rd}
		next.ServeHTTP(w, r)
	})
}

// readDeadliner is the read deadline of a request's connection.
type readDeadliner interface{ SetReadDeadline(time.Time) error }

// deadlineBody lifts the read deadline when the body ends.
type deadlineBody struct {
	io.ReadCloser
	once sync.Once
	rd   readDeadliner
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.once.Do(b.lift)
	}
	return n, err
}

func (b *deadlineBody) lift() { _ = b.rd.SetReadDeadline(time.Time{}) }
