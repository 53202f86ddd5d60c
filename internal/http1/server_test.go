package http1

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startServer serves h on a loopback port through the lean server.
func startServer(t testing.TB, h http.Handler) (*Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := NewServer(h, zerolog.Nop())
	return s, serveOn(t, s, ln)
}

// serveOn serves s on ln until the test ends, and returns ln's address.
func serveOn(t testing.TB, s *Server, ln net.Listener) string {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
		assert.ErrorIs(t, <-done, http.ErrServerClosed)
	})
	return ln.Addr().String()
}

// wireConn is a raw client connection: requests as bytes, answers parsed.
type wireConn struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dialWire(t *testing.T, addr string) *wireConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	require.NoError(t, c.SetDeadline(time.Now().Add(5*time.Second)))
	return &wireConn{t: t, c: c, br: bufio.NewReader(c)}
}

func (w *wireConn) send(raw string) {
	w.t.Helper()
	_, err := io.WriteString(w.c, raw)
	require.NoError(w.t, err)
}

// answer reads one answer to a request of method and returns it with its body.
func (w *wireConn) answer(method string) (*http.Response, string) {
	w.t.Helper()
	resp, err := http.ReadResponse(w.br, &http.Request{Method: method})
	require.NoError(w.t, err)
	b, err := io.ReadAll(resp.Body)
	require.NoError(w.t, err)
	return resp, string(b)
}

// closed reports whether the server closed the connection.
func (w *wireConn) closed() bool {
	_, err := w.br.ReadByte()
	return err == io.EOF
}

func TestServerFraming(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/small":
			_, _ = io.WriteString(w, "small")
		case "/large":
			_, _ = io.WriteString(w, strings.Repeat("x", 3*leanPending))
		case "/declared":
			w.Header().Set("Content-Length", "4")
			_, _ = io.WriteString(w, "four")
		case "/flushed":
			_, _ = io.WriteString(w, "a")
			w.(http.Flusher).Flush()
			_, _ = io.WriteString(w, "b")
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		case "/short":
			w.Header().Set("Content-Length", "10")
			_, _ = io.WriteString(w, "abc")
		case "/split":
			w.Header().Set("X-Bad", "a\r\nSet-Cookie: evil=1")
			_, _ = io.WriteString(w, "ok")
		case "/panic":
			panic("boom")
		case "/abort":
			_, _ = io.WriteString(w, "part")
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}
	})
	_, addr := startServer(t, h)
	c := dialWire(t, addr)
	get := func(path string) string { return "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n" }

	c.send(get("/small"))
	resp, body := c.answer("GET")
	assert.Equal(t, "small", body)
	assert.Equal(t, int64(5), resp.ContentLength, "a body written whole gets its length")
	assert.NotEmpty(t, resp.Header.Get("Date"))

	c.send(get("/large"))
	resp, body = c.answer("GET")
	assert.Len(t, body, 3*leanPending)
	assert.Equal(t, []string{"chunked"}, resp.TransferEncoding)

	c.send(get("/declared"))
	resp, body = c.answer("GET")
	assert.Equal(t, "four", body)
	assert.Equal(t, int64(4), resp.ContentLength)

	c.send(get("/flushed"))
	resp, body = c.answer("GET")
	assert.Equal(t, "ab", body)
	assert.Equal(t, []string{"chunked"}, resp.TransferEncoding)

	c.send("HEAD /small HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, body = c.answer("HEAD")
	assert.Empty(t, body)
	assert.Equal(t, 200, resp.StatusCode)

	c.send(get("/empty"))
	resp, body = c.answer("GET")
	assert.Equal(t, 204, resp.StatusCode)
	assert.Empty(t, body)
	assert.Empty(t, resp.Header.Values("Content-Length"))

	c.send(get("/split"))
	resp, body = c.answer("GET")
	assert.Equal(t, "ok", body)
	assert.Empty(t, resp.Header.Values("Set-Cookie"), "a line break in a value does not start a header")
	assert.Equal(t, "a  Set-Cookie: evil=1", resp.Header.Get("X-Bad"))

	// Pipelined: both answered, in order, on the same connection.
	c.send(get("/small") + get("/declared"))
	_, body = c.answer("GET")
	assert.Equal(t, "small", body)
	_, body = c.answer("GET")
	assert.Equal(t, "four", body)

	// Connection: close is honoured and said.
	c.send("GET /small HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	resp, _ = c.answer("GET")
	assert.True(t, resp.Close)
	assert.True(t, c.closed())

	// A handler that writes less than it declared: the client must not wait
	// on a kept-alive connection for bytes that never come.
	c = dialWire(t, addr)
	c.send(get("/short"))
	resp, err := http.ReadResponse(c.br, nil)
	require.NoError(t, err)
	_, err = io.ReadAll(resp.Body)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)

	for _, path := range []string{"/panic", "/abort"} {
		c = dialWire(t, addr)
		c.send(get(path))
		if path == "/abort" { // the head and part of the body went out
			resp, err := http.ReadResponse(c.br, nil)
			require.NoError(t, err)
			_, err = io.ReadAll(resp.Body)
			assert.Error(t, err, "a cut answer reads as cut")
		} else {
			_, err := http.ReadResponse(c.br, nil)
			assert.Error(t, err, "a panic closes the connection without an answer")
		}
	}
}

// Requests outside the lean subset go to net/http with their connection,
// nothing of them lost; a body the handler leaves unread is skipped.
func TestServerHandoff(t *testing.T) {
	var lean, fallback, smuggled atomic.Int32
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/smuggled" {
			smuggled.Add(1)
		}
		if _, ok := w.(*leanResponse); ok {
			lean.Add(1)
		} else {
			fallback.Add(1)
		}
		if r.URL.Path == "/echo" {
			b, _ := io.ReadAll(r.Body)
			_, _ = w.Write(b)
			return
		}
		_, _ = io.WriteString(w, r.Method+" "+r.URL.Path)
	})
	_, addr := startServer(t, h)
	c := dialWire(t, addr)
	c.send("POST /unread HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\n\r\nignored")
	_, body := c.answer("POST")
	assert.Equal(t, "POST /unread", body)
	c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
	_, body = c.answer("POST")
	assert.Equal(t, "hello", body)
	assert.Equal(t, int32(2), lean.Load())

	c.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
	_, body = c.answer("POST")
	assert.Equal(t, "abc", body)
	c.send("GET /after HTTP/1.1\r\nHost: x\r\n\r\n")
	_, body = c.answer("GET")
	assert.Equal(t, "GET /after", body)
	assert.Equal(t, int32(2), fallback.Load(), "the connection stays with net/http")

	c = dialWire(t, addr)
	c.send("GET /a%20b HTTP/1.1\r\nHost: x\r\n\r\n")
	_, body = c.answer("GET")
	assert.Equal(t, "GET /a b", body, "escaped paths are net/http's")

	c = dialWire(t, addr)
	c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(c.br, nil)
	require.NoError(t, err)
	_, _ = io.ReadAll(resp.Body)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "Content-Length with Transfer-Encoding (framing.go)")
	assert.True(t, c.closed(), "refused and closed")
	assert.Zero(t, smuggled.Load(), "what hid in the body was never taken for a request")

	c = dialWire(t, addr)
	c.send("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("b", 2*leanBufferSize) + "\r\n\r\n")
	resp, _ = c.answer("GET")
	assert.Equal(t, 200, resp.StatusCode, "a head over the lean buffer is served by net/http")
}

func TestServerShutdown(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			started <- struct{}{}
			<-release
		}
		_, _ = io.WriteString(w, "done")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := NewServer(h, zerolog.Nop())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	addr := ln.Addr().String()

	idle := dialWire(t, addr)
	idle.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	idle.answer("GET")
	busy := dialWire(t, addr)
	busy.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	<-started

	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		shut <- s.Shutdown(ctx)
	}()
	assert.True(t, idle.closed(), "an idle connection is closed at once")
	require.ErrorIs(t, <-served, http.ErrServerClosed)
	_, err = net.Dial("tcp", addr)
	assert.Error(t, err, "no more connections accepted")
	select {
	case <-shut:
		t.Fatal("Shutdown returned with a request in flight")
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	resp, body := busy.answer("GET")
	assert.Equal(t, "done", body, "the request in flight is answered")
	assert.True(t, resp.Close || busy.closed(), "then its connection is closed")
	assert.NoError(t, <-shut)
}
