package http1

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A handler's Connection: close ends the connection after its answer, as
// net/http's server takes it ("Connection: close" in the answer, then the
// end), whether the answer is framed when the handler returns or flushed
// before; a handler's Connection without close is the server's to write,
// and the connection is kept.
func TestServerClosesOnTheHandlersConnectionClose(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Connection"] = []string{r.URL.Query().Get("connection")}
		if r.URL.Query().Has("flush") {
			w.WriteHeader(http.StatusMisdirectedRequest)
			w.(http.Flusher).Flush()
		}
		_, _ = io.WriteString(w, "answer")
	})
	_, addr := startServer(t, h)
	for _, tc := range []struct {
		name, query string
		closes      bool
	}{
		{"close", "connection=close", true},
		{"a list with close", "connection=keep-alive,%20Close", true},
		{"close, flushed", "connection=close&flush", true},
		{"keep-alive", "connection=keep-alive", false},
		{"keep-alive, flushed", "connection=keep-alive&flush", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialWire(t, addr)
			c.send("GET /?" + tc.query + " HTTP/1.1\r\nHost: x\r\n\r\n")
			resp, body := c.answer(http.MethodGet)
			assert.Equal(t, "answer", body)
			if tc.closes {
				assert.True(t, resp.Close, "Connection: close said")
				assert.True(t, c.closed(), "closed after the answer")
				return
			}
			assert.False(t, resp.Close)
			assert.Empty(t, resp.Header["Connection"], "the server's to write")
			c.send("GET /?" + tc.query + " HTTP/1.1\r\nHost: x\r\n\r\n")
			_, body = c.answer(http.MethodGet)
			assert.Equal(t, "answer", body, "kept alive")
		})
	}
}

// RFC 9112 section 9.6: "If a server performs an immediate close of a TCP
// connection, there is a significant risk that the client will not be
// able to read the last HTTP response. ... the server's TCP stack will
// send a reset packet to the client; unfortunately, the reset packet might
// erase the client's unacknowledged input buffers before they can be read
// ... servers typically close a connection in stages. First, the server
// performs a half-close by closing only the write side of the read/write
// connection. The server then continues to read from the connection until
// it receives a corresponding close by the client, or until the server is
// reasonably certain that its own TCP stack has received the client's
// acknowledgement". nginx's lingering_close: "wait for and process
// additional data from the client before fully closing the connection".
// An answer that ends the connection while the client is still sending
// the body the handler did not read (the handler's Connection: close, as
// the gateway's 421; the client's; a body over what the server drains to
// keep a connection) is read by a client that sends all of its body first:
// the server reads and discards the rest before it closes, so no reset
// erases the answer. The client reads only once the server closed.
func TestServerLingersOverAnUnreadBodyBeforeClosing(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("close") {
			w.Header()["Connection"] = []string{"close"}
		}
		w.WriteHeader(http.StatusMisdirectedRequest)
		_, _ = io.WriteString(w, "retry on a new connection")
	})
	s, addr := startServer(t, h)
	for _, tc := range []struct {
		name, target, header string
		body                 int
	}{
		{"the handler's Connection: close", "/?close", "", 8 << 20}, // more than the socket buffers hold
		{"the client's Connection: close", "/", "Connection: close\r\n", 100 << 10},
		{"a body over the drain bound", "/", "", 2 * leanMaxDrain},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialWire(t, addr)
			wrote := make(chan error, 1)
			go func() {
				head := "POST " + tc.target + " HTTP/1.1\r\nHost: x\r\n" + tc.header + "Content-Length: " + strconv.Itoa(tc.body) + "\r\n\r\n"
				_, err := c.c.Write(append([]byte(head), bytes.Repeat([]byte("b"), tc.body)...))
				wrote <- err
			}()
			require.NoError(t, <-wrote, "the server read the whole body, not reset the connection under it")
			closedByServer(t, s)
			resp, body := c.answer(http.MethodPost)
			assert.Equal(t, http.StatusMisdirectedRequest, resp.StatusCode)
			assert.Equal(t, "retry on a new connection", body)
			_, err := c.br.ReadByte()
			assert.Equal(t, io.EOF, err, "an orderly end, not a reset")
		})
	}
}

// The lingering is bounded: a client that stops sending its body, without
// closing, is waited for lingerTime; one that keeps sending is read for
// lingerMaxBytes, then closed on (its writes fail).
func TestServerLingersBoundedly(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Connection"] = []string{"close"}
		w.WriteHeader(http.StatusMisdirectedRequest)
	})
	s, addr := startServer(t, h)
	t.Run("a client that stops sending", func(t *testing.T) {
		c := dialWire(t, addr)
		c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n" + strings.Repeat("b", 1000))
		resp, _ := c.answer(http.MethodPost)
		answered := time.Now()
		assert.Equal(t, http.StatusMisdirectedRequest, resp.StatusCode)
		assert.True(t, c.closed(), "the server says it is done")
		closedByServer(t, s)
		assert.WithinRange(t, time.Now(), answered.Add(lingerTime*9/10), answered.Add(lingerTime+3*time.Second), "closed after lingerTime")
	})
	t.Run("a client that keeps sending", func(t *testing.T) {
		c := dialWire(t, addr)
		require.NoError(t, c.c.SetDeadline(time.Now().Add(20*time.Second)))
		const declared = 8 * lingerMaxBytes
		c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: " + strconv.Itoa(declared) + "\r\n\r\n")
		chunk := bytes.Repeat([]byte("b"), 64<<10)
		sent := 0
		var err error
		for sent < declared && err == nil {
			var n int
			n, err = c.c.Write(chunk)
			sent += n
		}
		require.Error(t, err, "the server closed before reading all of the body")
		assert.Less(t, sent, declared)
		closedByServer(t, s)
	})
}

// closedByServer waits until s closed its connections, and a little more:
// the close follows their count's drop.
func closedByServer(t *testing.T, s *Server) {
	t.Helper()
	require.Eventually(t, func() bool { return s.ConnStats().Active == 0 }, 10*time.Second, time.Millisecond)
	time.Sleep(20 * time.Millisecond)
}

// plainConns hides the TCP connections a listener accepts behind net.Conn,
// so that the server reads them as it reads TLS ones: with blocking reads,
// not inside a ReadLoop.
type plainConns struct{ net.Listener }

func (l plainConns) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	return struct{ net.Conn }{c}, err
}

// The CRLF an old client sends after a POST body leaves the connection
// waiting for a request, as idle as any: Shutdown closes it at once rather
// than waiting for its next request or its idle timeout.
func TestShutdownClosesConnectionIdleAfterPostCRLF(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}), zerolog.Nop())
	done := make(chan error, 1)
	go func() { done <- s.Serve(plainConns{ln}) }()
	c := dialWire(t, ln.Addr().String())
	c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok")
	resp, _ := c.answer("POST")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	c.send("\r\n")
	time.Sleep(50 * time.Millisecond) // the server reads the CRLF, then waits

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	require.NoError(t, s.Shutdown(ctx), "the connection was not taken for idle")
	require.ErrorIs(t, <-done, http.ErrServerClosed)
	assert.True(t, c.closed())
}

// slowAccept hands each connection to the server some time after it came,
// so that all a client sends first (a request and its end) is there
// before the server's first read.
type slowAccept struct {
	net.Listener
	delay time.Duration
}

func (l slowAccept) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	time.Sleep(l.delay)
	return c, err
}

// A client that sends its request and then its end (a half-close: nc -N,
// probes) gets its answer and the connection closed at once, as from
// net/http's server and nginx, not after the idle timeout: the end came
// in the readiness edge of the request, and no other comes to wake the
// loop's wait.
func TestHalfClosedClientIsClosedAfterItsAnswer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "answer")
	}), zerolog.Nop())
	go func() { _ = s.Serve(slowAccept{ln, 50 * time.Millisecond}) }()
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	for _, requests := range []int{1, 3} {
		c := dialWire(t, ln.Addr().String())
		c.send(strings.Repeat("GET / HTTP/1.1\r\nHost: x\r\n\r\n", requests))
		require.NoError(t, c.c.(*net.TCPConn).CloseWrite())
		for range requests {
			_, body := c.answer(http.MethodGet)
			assert.Equal(t, "answer", body)
		}
		require.NoError(t, c.c.SetReadDeadline(time.Now().Add(2*time.Second)))
		assert.True(t, c.closed(), "%d pipelined request(s): closed once answered, not after the idle timeout (%v)", requests, leanIdleTimeout)
	}
}
