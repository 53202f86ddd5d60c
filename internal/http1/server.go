package http1

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/portolan/portolan/internal/backoff"
)

// Server serves the gateway's listener. Requests in a strict subset
// of HTTP/1.1 (see parseRequestHead) are served by a lean loop on the
// connection's goroutine; a connection whose next request falls outside it
// is handed, with nothing of that request consumed, to net/http's server for
// the rest of its life. The lean loop is what lets the gateway keep up with
// nginx: net/http's server starts a background read per request (a
// goroutine wake-up, two deadline moves and a lock) and builds a request and
// a response writer anew each time, which at the gateway's request rate is
// a third of its CPU. On Linux the requests without a body are served
// inside one wait for readiness of the connection (server_loop.go), so that
// no read is tried between requests that would find nothing.
//
// What the lean loop leaves out, net/http does: chunked and Expect request
// bodies, upgrades, HTTP/1.0, absolute-form targets, escaped paths, heads
// over 4 KiB and anything malformed; every request it reads is held to the
// framing rule first (framing.go: CL with TE, TE on HTTP/1.0 and repeated
// lengths get 400 and a closed connection), and its body to BodyTimeout as
// the lean loop's (bodyTimer). A request's context is its connection's,
// ended when the connection is done, or when its client leaves during a
// long answer (watchClients).
type Server struct {
	handler  http.Handler
	log      zerolog.Logger
	dates    dateCache
	fallback *http.Server
	handoffs *ConnQueue

	ctx    context.Context // every connection's requests; cancelled when shutdown gives up waiting
	cancel context.CancelFunc

	readers, writers sync.Pool // *bufio.Reader, *bufio.Writer

	closing atomic.Bool
	mu      sync.Mutex
	ln      net.Listener
	conns   map[*leanConn]struct{}

	accepted atomic.Uint64 // connections served since the start
	wg       sync.WaitGroup

	clientCheck time.Duration // watchClients' interval; clientCheckEvery when zero (tests shorten it)

	// BodyTimeout bounds the time between two reads of a request's body, as
	// nginx's client_body_timeout: a client that sends none of it for that
	// long has its reads fail with ErrBodyTimeout, and its connection is
	// closed after the answer. NewServer sets DefaultBodyTimeout; zero: no
	// bound. Set it before Serve.
	BodyTimeout time.Duration
}

// Lean server bounds and timeouts, as the net/http server behind it has them.
const (
	leanBufferSize    = 4 << 10 // request heads larger go to net/http
	leanHeaderTimeout = 10 * time.Second
	leanIdleTimeout   = 120 * time.Second
	leanMaxDrain      = 256 << 10 // unread request body drained to keep the connection

	DefaultBodyTimeout = 60 * time.Second // nginx's client_body_timeout
)

// MaxHeaderBytes bounds a request's head, in the lean loop and net/http's.
const MaxHeaderBytes = 64 << 10

var errLeanWrite = errors.New("gateway: the client connection failed")

// ErrBodyTimeout is what a read of a request's body returns once the
// client has sent none of it for the body timeout (Server.BodyTimeout):
// 408 is the answer, as nginx's.
var ErrBodyTimeout = errors.New("the client sent none of its request body for the body timeout")

func NewServer(h http.Handler, log zerolog.Logger) *Server {
	s := &Server{
		handler:     h,
		log:         log,
		conns:       map[*leanConn]struct{}{},
		BodyTimeout: DefaultBodyTimeout,
	}
	s.fallback = &http.Server{
		Handler:           tlsState{bodyTimer{s, switchOrClose{h}}},
		ConnContext:       tlsStateContext,
		ReadHeaderTimeout: leanHeaderTimeout,
		IdleTimeout:       leanIdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
	}
	s.handoffs = NewConnQueue(nil)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.readers.New = func() any { return bufio.NewReaderSize(nil, leanBufferSize) }
	s.writers.New = func() any { return bufio.NewWriterSize(nil, leanBufferSize) }
	return s
}

// Serve accepts connections on ln until Shutdown; it returns
// http.ErrServerClosed then, as http.Server.Serve does.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		ln.Close()
		return http.ErrServerClosed
	}
	s.ln = ln
	s.handoffs.addr = ln.Addr()
	s.wg.Add(1)
	if clientsWatched {
		s.wg.Add(1)
		go s.watchClients(cmp.Or(s.clientCheck, clientCheckEvery))
	}
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		_ = s.fallback.Serve(s.handoffs)
	}()
	retry := backoff.Backoff{Min: 5 * time.Millisecond, Max: time.Second}
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.closing.Load() {
				return http.ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				// Out of file descriptors and the like: wait, as net/http does.
				wait := retry.Next()
				s.log.Warn().Err(err).Dur("retry_in", wait).Msg("gateway: accept failed")
				backoff.Sleep(s.ctx, wait)
				continue
			}
			return fmt.Errorf("gateway: accept: %w", err)
		}
		retry.Reset()
		lc := s.newConn(Raw(c))
		if lc == nil { // shutting down
			c.Close()
			return http.ErrServerClosed
		}
		go s.serveConn(lc)
	}
}

// Shutdown stops accepting, closes idle connections, lets requests in
// flight finish until ctx ends, then cuts what is left.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing.Store(true)
	if s.ln != nil {
		s.ln.Close()
	}
	s.mu.Unlock()
	s.handoffs.Close()
	fallbackDone := make(chan error, 1)
	go func() { fallbackDone <- s.fallback.Shutdown(ctx) }()

	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		s.mu.Lock()
		left := len(s.conns)
		for lc := range s.conns {
			if lc.idle.Load() {
				_ = lc.c.SetReadDeadline(time.Unix(1, 0)) // wakes the wait for a request
			}
		}
		s.mu.Unlock()
		if left == 0 {
			break
		}
		select {
		case <-tick.C:
			continue
		case <-ctx.Done():
		}
		s.mu.Lock()
		for lc := range s.conns {
			lc.cut()
		}
		s.mu.Unlock()
		s.cancel()
		<-fallbackDone
		return ctx.Err()
	}
	err := <-fallbackDone
	s.cancel()
	s.wg.Wait()
	return err
}

// leanConn is one client connection served by the lean loop, with
// everything a request needs allocated once.
type leanConn struct {
	s        *Server
	c        net.Conn
	cr       connReader // under br
	br       *bufio.Reader
	bw       *bufio.Writer
	remote   string
	idle     atomic.Bool                  // waiting for a request: Shutdown may close it
	busy     atomic.Bool                  // a request is being answered (ConnStats' writing)
	requests atomic.Uint32                // requests begun, for watchClients
	reading  atomic.Bool                  // its request's body is not read to its end: watchClients waits
	ended    atomic.Bool                  // watchClients found its client gone (waiting, or answering): it serves no other request
	awaiting atomic.Pointer[upstreamConn] // the upstream whose answer's head its request waits for
	look     clientLook                   // watchClients' last look (under Server.mu)
	deadline time.Time                    // the read deadline set; zero when none
	postCRLF int                          // after a POST: how many CR or LF may still be skipped before the next head
	cancel   context.CancelFunc

	// A head read in pieces: where to look for its end, and whether its
	// deadline is set.
	headFrom  int
	headTimed bool

	loopN     int       // the head serveInLoop stopped at
	loopState headState // and what readHead said of it
	stepFn    func(read func([]byte) (int, error)) bool

	head requestHead
	tmpl http.Request // carries the connection's context
	req  http.Request
	url  url.URL
	body *requestBody // the request's; nil when it has none
	w    leanResponse
}

// cut ends a connection whose request outlived Shutdown. One serving
// inside its ReadLoop cannot be closed until the request is done (Close
// waits for the loop): its reads and writes fail from now on (a deadline
// passed), the client is sent the end, and its goroutine closes it.
func (lc *leanConn) cut() {
	cw, ok := lc.c.(interface{ CloseWrite() error })
	if _, loops := lc.c.(readLooper); !loops || !ok {
		lc.c.Close()
		return
	}
	_ = lc.c.SetDeadline(time.Unix(1, 0))
	_ = cw.CloseWrite()
}

func (s *Server) newConn(c net.Conn) *leanConn {
	s.accepted.Add(1)
	ctx, cancel := context.WithCancel(s.ctx)
	lc := &leanConn{s: s, c: c, remote: c.RemoteAddr().String(), cancel: cancel, head: *newRequestHead()}
	// Its requests carry the connection's local address, as net/http's do
	// (the gateway's Liquid {{ server_addr }}, nginx's $server_addr), and
	// the server, which httputil.ReverseProxy looks for to abort (panic
	// http.ErrAbortHandler, which call recovers) rather than end a cut
	// answer as if whole.
	// The connection itself comes last, where a lookup finds it first: the
	// Forwarder tells it what its request waits for (watchClients).
	ctx = context.WithValue(ctx, http.ServerContextKey, s.fallback)
	ctx = context.WithValue(ctx, http.LocalAddrContextKey, c.LocalAddr())
	lc.tmpl = *(&http.Request{}).WithContext(context.WithValue(ctx, leanConnKey{}, lc))
	if tc, ok := c.(*tls.Conn); ok { // served over TLS (the gateway's front door did the handshake)
		st := tc.ConnectionState()
		lc.tmpl.TLS = &st
	}
	lc.cr.c = c
	lc.br = s.readers.Get().(*bufio.Reader)
	lc.br.Reset(&lc.cr)
	lc.bw = s.writers.Get().(*bufio.Writer)
	lc.bw.Reset(c)
	lc.w = leanResponse{bw: lc.bw, dates: &s.dates, header: make(http.Header, 8)}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		cancel()
		return nil
	}
	s.conns[lc] = struct{}{}
	s.wg.Add(1)
	return lc
}

func (s *Server) serveConn(lc *leanConn) {
	defer s.wg.Done()
	handedOff := false
	defer func() {
		s.mu.Lock()
		delete(s.conns, lc)
		s.mu.Unlock()
		lc.cancel() // net/http gives a handed-off connection contexts of its own
		lc.bw.Reset(nil)
		s.writers.Put(lc.bw)
		if !handedOff {
			lc.c.Close()
			lc.br.Reset(nil)
			s.readers.Put(lc.br)
		}
	}()
	looper, _ := lc.c.(readLooper)
	for !s.closing.Load() {
		var (
			n  int
			st headState
		)
		if looper != nil {
			n, st = lc.serveInLoop(looper)
		} else {
			n, st = lc.readHead()
		}
		switch st {
		case headHandoff:
			handedOff = s.handoff(lc)
			return
		case headOK:
			if !lc.serve(n) {
				return
			}
		default:
			return
		}
	}
}

// headState is what readHead found.
type headState uint8

const (
	headDone    headState = iota // the connection is done: closed, timed out, shut down, or a read failed
	headOK                       // a head the lean loop serves
	headHandoff                  // a request for net/http
	headWait                     // nothing more to read yet (only inside serveInLoop)
)

var crlfcrlf, lflf = []byte("\r\n\r\n"), []byte("\n\n")

// readHead waits for the next request and parses its head, returning its
// length with headOK. Inside serveInLoop it does not wait: it returns
// headWait, and is called again where it stopped once there is more.
func (lc *leanConn) readHead() (int, headState) {
	br := lc.br
	if br.Buffered() == 0 {
		lc.setIdleDeadline()
		lc.idle.Store(true)
		if _, err := br.Peek(1); err != nil {
			if err == errWouldBlock {
				return 0, headWait
			}
			lc.idle.Store(false)
			return 0, headDone
		}
		if lc.idle.Store(false); lc.ended.Load() {
			return 0, headDone // its client's end came with it: endIdle
		}
	}
	if lc.postCRLF > 0 {
		// As net/http: old clients send a CRLF after a POST body, and up to
		// 4 CR or LF are skipped. Only what has come is looked at: a Peek
		// for more would wait under the idle deadline, not the head's, and
		// unseen by Shutdown.
		peek, _ := br.Peek(min(br.Buffered(), lc.postCRLF))
		n := 0
		for n < len(peek) && (peek[n] == '\r' || peek[n] == '\n') {
			n++
		}
		_, _ = br.Discard(n)
		if lc.postCRLF -= n; n < len(peek) {
			lc.postCRLF = 0 // the head has begun
		}
		if br.Buffered() == 0 {
			return lc.readHead()
		}
	}
	for {
		buf, _ := br.Peek(br.Buffered())
		if i := bytes.Index(buf[lc.headFrom:], crlfcrlf); i >= 0 {
			n := lc.headFrom + i + len(crlfcrlf)
			lc.headFrom, lc.headTimed = 0, false
			if !parseRequestHead(string(buf[:n]), &lc.head) {
				return 0, headHandoff
			}
			return n, headOK
		}
		if len(buf) == br.Size() || bytes.Contains(buf, lflf) {
			// A large head (net/http bounds it by MaxHeaderBytes), or one
			// ended by bare LFs, which net/http tolerates.
			lc.headFrom, lc.headTimed = 0, false
			return 0, headHandoff
		}
		lc.headFrom = max(0, len(buf)-len(crlfcrlf)+1)
		if !lc.headTimed { // a head that comes in pieces must come in time
			lc.setDeadline(time.Now().Add(leanHeaderTimeout))
			lc.headTimed = true
		}
		if _, err := br.Peek(len(buf) + 1); err != nil {
			if err == errWouldBlock {
				return 0, headWait
			}
			return 0, headDone
		}
	}
}

// setIdleDeadline bounds the wait for the next request. The deadline moves
// only when less than half of the idle timeout is left: a timer update per
// request costs more than the precision is worth.
func (lc *leanConn) setIdleDeadline() {
	if now := time.Now(); lc.deadline.IsZero() || lc.deadline.Sub(now) < leanIdleTimeout/2 {
		lc.setDeadline(now.Add(leanIdleTimeout))
	}
}

func (lc *leanConn) setDeadline(t time.Time) {
	lc.deadline = t
	_ = lc.c.SetReadDeadline(t)
}

// serve answers the request whose head (n bytes) was parsed, and reports
// whether the connection can serve another.
func (lc *leanConn) serve(n int) bool {
	if _, err := lc.br.Discard(n); err != nil {
		return false
	}
	h := &lc.head
	lc.postCRLF = 0
	if h.method == http.MethodPost {
		lc.postCRLF = 4
	}
	h.url(&lc.url)
	req := &lc.req
	*req = lc.tmpl
	req.Method, req.URL, req.RequestURI = h.method, &lc.url, h.target
	req.Proto, req.ProtoMajor, req.ProtoMinor = "HTTP/1.1", 1, 1
	req.Header, req.Host, req.RemoteAddr, req.Close = h.header, h.host, lc.remote, h.close
	req.ContentLength, req.Body = h.contentLength, http.NoBody
	lc.body = nil
	if h.contentLength > 0 {
		lc.body = lc.newBody(h.contentLength)
		req.Body = lc.body
		if lc.body.timeout <= 0 && !lc.deadline.IsZero() {
			lc.setDeadline(time.Time{}) // as net/http without a ReadTimeout: uploads may be slow
		}
	}
	lc.w.reset(h.method == http.MethodHead, h.close)
	lc.requests.Add(1)
	lc.reading.Store(lc.body != nil)
	lc.busy.Store(true)
	defer lc.busy.Store(false)
	if !lc.call(req) || lc.ended.Load() && lc.w.status == 0 {
		// A panic, or a client watchClients found gone that the handler
		// answered nothing: closed without an answer, as nginx's 499,
		// not sent an empty 200 it would take for the app's.
		if lc.body != nil {
			_ = lc.body.Close() // waits for a read in progress: the buffer goes back to the pool
		}
		return false
	}
	if lc.ended.Load() {
		lc.w.closeAfter = true // its context ended: no other request is served under it
	}
	if lc.body == nil {
		return lc.w.finish()
	}
	return lc.finishWithBody()
}

// call runs the handler; false when it panicked (the connection is then
// closed: its answer may be cut). http.ErrAbortHandler is the handler's way
// to abort, and is not logged.
func (lc *leanConn) call(req *http.Request) (ok bool) {
	defer func() {
		if v := recover(); v != nil {
			ok = false
			if v != http.ErrAbortHandler { // a sentinel panic value, compared as net/http does
				lc.s.log.Error().Str("panic", fmt.Sprint(v)).Bytes("stack", debug.Stack()).Msg("gateway: handler panicked")
			}
		}
	}()
	lc.s.handler.ServeHTTP(&lc.w, req)
	return true
}
