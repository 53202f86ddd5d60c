package gateway

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"

	"github.com/portolan/portolan/internal/http1"
)

// x/net/http2's Server is deprecated for net/http's own HTTP/2, but only it
// serves a connection accepted and opened elsewhere (ServeConn), and an
// Upgrade: h2c, which net/http's server does not take.
//
//lint:file-ignore SA1019 ServeConn has no equivalent in net/http (see above)

// HTTP/2 bounds: what one connection may hold.
const (
	h2MaxStreams     = 250     // concurrent streams a client may open (x/net's default)
	h2MaxReadFrame   = 1 << 20 // largest frame read (x/net's default, 1 MiB)
	h2MaxUploadBuf   = 1 << 20 // request body bytes buffered per connection and per stream
	h2WriteByteLimit = 30 * time.Second
)

// http2Proto is HTTP/2's ALPN name.
const http2Proto = http2.NextProtoTLS

// h2Server serves HTTP/2 connections (TLS with ALPN "h2", h2c) with the
// gateway's handler through x/net/http2, and keeps track of them to shut
// them down.
type h2Server struct {
	srv     *http2.Server
	base    *http.Server // ServeConn's BaseConfig: the header bound; its Shutdown sends GOAWAY
	handler http.Handler

	ctx    context.Context // the requests'; cancelled when shutdown gives up waiting
	cancel context.CancelFunc

	mu       sync.Mutex
	closing  bool
	conns    map[net.Conn]*h2Conn
	wg       sync.WaitGroup
	accepted atomic.Uint64 // connections served, for nginx_http_connections
}

// h2Conn is what nginx_http_connections reads of an HTTP/2 connection: the
// requests it is answering. Its requests find it in their context.
type h2Conn struct{ streams atomic.Int32 }

type h2ConnKey struct{}

// h2Counted counts an HTTP/2 connection's requests in flight, and bounds
// the reads of their bodies by bodyTimeout (http1.TimeBody): x/net/http2
// has no such bound. A stream without a body (its length 0) costs nothing.
type h2Counted struct {
	next        http.Handler
	bodyTimeout time.Duration
}

func (h h2Counted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if c, ok := r.Context().Value(h2ConnKey{}).(*h2Conn); ok {
		c.streams.Add(1)
		defer c.streams.Add(-1)
	}
	if h.bodyTimeout > 0 && r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody {
		var done func()
		r.Body, done = http1.TimeBody(w, r.Body, h.bodyTimeout)
		defer done()
	}
	h.next.ServeHTTP(w, r)
}

// connStats reads the HTTP/2 connections as nginx's stub_status counts
// them: each is active, and writing while it answers a request, waiting
// otherwise (it reads a request's head within a frame: never "reading").
func (s *h2Server) connStats() http1.ConnStats {
	st := http1.ConnStats{Accepted: s.accepted.Load()}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		st.Active++
		if c.streams.Load() > 0 {
			st.Writing++
		} else {
			st.Waiting++
		}
	}
	return st
}

func newH2Server(h http.Handler, bodyTimeout time.Duration) *h2Server {
	s := &h2Server{
		srv: &http2.Server{
			MaxConcurrentStreams:         h2MaxStreams,
			MaxReadFrameSize:             h2MaxReadFrame,
			MaxUploadBufferPerConnection: h2MaxUploadBuf,
			MaxUploadBufferPerStream:     h2MaxUploadBuf,
			IdleTimeout:                  idleTimeout,
			WriteByteTimeout:             h2WriteByteLimit, // a client that stops reading is dropped
		},
		// MaxHeaderBytes bounds a request's header list (SETTINGS_MAX_HEADER_LIST_SIZE), as the lean loop's heads.
		base:    &http.Server{MaxHeaderBytes: http1.MaxHeaderBytes, ReadHeaderTimeout: openTimeout, IdleTimeout: idleTimeout},
		handler: h2Counted{h, bodyTimeout},
		conns:   map[net.Conn]*h2Conn{},
	}
	// Registers srv's connections with base, whose Shutdown then tells
	// them to finish. It fails only on a TLSConfig with bad ciphers: base has none.
	_ = http2.ConfigureServer(s.base, s.srv)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s
}

// serve serves the HTTP/2 connection c until it ends. upgrade and settings
// are the request and the HTTP2-Settings of an Upgrade: h2c, nil otherwise.
func (s *h2Server) serve(c net.Conn, upgrade *http.Request, settings []byte) {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		c.Close()
		return
	}
	st := &h2Conn{}
	s.conns[c] = st
	s.accepted.Add(1)
	s.wg.Add(1)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
		s.wg.Done()
	}()
	s.srv.ServeConn(c, &http2.ServeConnOpts{
		Context: context.WithValue(s.ctx, h2ConnKey{}, st), BaseConfig: s.base, Handler: s.handler,
		UpgradeRequest: upgrade, Settings: settings,
	})
}

// shutdown tells every connection to finish (GOAWAY: streams in flight go
// on, no new one opens), waits for them until ctx ends, then closes them.
func (s *h2Server) shutdown(ctx context.Context) {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	_ = s.base.Shutdown(ctx)
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.cancel()
		<-done
	}
	s.cancel()
}

// h2cUpgrades serves an HTTP/1.1 request asking to upgrade to h2c (RFC
// 7540 §3.2: Upgrade: h2c, Connection: HTTP2-Settings) as the first stream
// of an HTTP/2 connection (unless its body is larger than
// h2cUpgradeMaxBody), and every other request with next. The lean
// loop hands every Upgrade request to net/http, whose connection can be
// hijacked.
type h2cUpgrades struct {
	next    http.Handler
	h2      *h2Server
	maxBody int64
	g       *Gateway // answers a body that timed out
}

func (u h2cUpgrades) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	up := r.Header["Upgrade"]
	if len(up) == 0 || !httpguts.HeaderValuesContainsToken(up, "h2c") ||
		!httpguts.HeaderValuesContainsToken(r.Header["Connection"], "HTTP2-Settings") {
		u.next.ServeHTTP(w, r)
		return
	}
	vals := r.Header["Http2-Settings"]
	if len(vals) != 1 {
		writeText(w, http.StatusBadRequest, plainText, []byte("Bad Request: an h2c upgrade needs one HTTP2-Settings header\n"))
		return
	}
	settings, err := base64.RawURLEncoding.DecodeString(vals[0])
	if err != nil {
		writeText(w, http.StatusBadRequest, plainText, []byte("Bad Request: HTTP2-Settings is not base64url\n"))
		return
	}
	// The request is answered on the new connection: its body is read
	// first, within the gateway's bound, when it is small.
	if r.Body != nil && r.Body != http.NoBody {
		if r.ContentLength > h2cUpgradeMaxBody {
			u.next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(io.LimitReader(http.MaxBytesReader(w, r.Body, u.maxBody), h2cUpgradeMaxBody+1))
		if err != nil {
			u.bodyFailed(w, r, err)
			return
		}
		if len(body) > h2cUpgradeMaxBody { // chunked, and larger: the rest is the handler's to read, or not
			r.Body = upgradeBody{Reader: io.MultiReader(bytes.NewReader(body), r.Body), Closer: r.Body}
			u.next.ServeHTTP(w, r)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	conn, rw, err := http.NewResponseController(w).Hijack()
	if err != nil { // not a hijackable connection: answer in HTTP/1.1, as a server without h2c would
		u.next.ServeHTTP(w, r)
		return
	}
	_, _ = rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n")
	if err := rw.Flush(); err != nil {
		conn.Close()
		return
	}
	var head []byte
	if n := rw.Reader.Buffered(); n > 0 { // the client's preface may have come with the request
		head, _ = rw.Reader.Peek(n)
		head = bytes.Clone(head)
	}
	u.h2.serve(&prefixConn{Conn: conn, prefix: head}, r, settings)
}

// h2cUpgradeMaxBody bounds the body of an Upgrade: h2c request that is
// switched, which must be read whole before the switch, and so before the
// request is checked (credentials, mapping rules): a larger body is never
// held for a client nobody has checked. Such a request is served in
// HTTP/1.1 without the switch, as any server may answer an upgrade (RFC
// 9110 §7.8) and as Apache's mod_http2 serves every upgrade with a body:
// checked first, its body then streamed to the app as any other's. The
// bound is a request head's (http1.MaxHeaderBytes), about HTTP/2's initial
// stream window.
const h2cUpgradeMaxBody = http1.MaxHeaderBytes

// upgradeBody is the body of an upgrade not taken: what was read of it,
// then the rest, closed as the original.
type upgradeBody struct {
	io.Reader
	io.Closer
}

// bodyFailed answers an upgrade request whose body could not be read: 413
// over the bound, 408 when the client stopped sending it, 400 otherwise (a
// malformed chunk, a body cut short), as the lean loop answers a body it
// cannot read; never the empty 200 of a handler that wrote nothing.
func (u h2cUpgrades) bodyFailed(w http.ResponseWriter, r *http.Request, err error) {
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		writeText(w, http.StatusRequestEntityTooLarge, plainText, []byte("Request body too large\n"))
	case u.g.bodyTimedOut(w, r, err):
	default:
		u.g.m.badRequest.Inc()
		w.Header()["Connection"] = []string{"close"}
		writeText(w, http.StatusBadRequest, plainText, []byte("Bad Request: the request body could not be read\n"))
	}
}

// clientPreface starts every HTTP/2 connection.
var clientPreface = []byte(http2.ClientPreface)

// sniffPreface reads c's first bytes until they are, or cannot be, the
// HTTP/2 client preface. It returns them, and whether they are it.
func sniffPreface(c net.Conn) ([]byte, bool, error) {
	buf := make([]byte, 0, len(clientPreface))
	for len(buf) < len(clientPreface) {
		n, err := c.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if !bytes.HasPrefix(clientPreface, buf) {
			return buf, false, nil
		}
		if err != nil {
			return buf, false, err
		}
	}
	return buf, true, nil
}

// prefixConn is a connection whose first bytes were already read: prefix
// is read again first.
type prefixConn struct {
	net.Conn
	prefix []byte
}

// NetConn is the connection under c, as tls.Conn's (the lean server looks
// at its socket).
func (c *prefixConn) NetConn() net.Conn { return c.Conn }

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}
