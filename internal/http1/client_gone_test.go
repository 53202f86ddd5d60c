//go:build linux

package http1

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// stalledUpstream answers every request with head and one piece of body,
// then sends nothing more (an event stream between events, a long poll):
// let go is told when the gateway closes the connection. After hold it
// sends the rest and ends the answer.
func stalledUpstream(t *testing.T, hold time.Duration) (addr string, letGo chan struct{}) {
	t.Helper()
	letGo = make(chan struct{}, 4)
	addr = testenv.ServeTCP(t, func(c net.Conn) {
		defer c.Close()
		br := bufio.NewReader(c)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			if line == "\r\n" {
				break
			}
		}
		if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nfirst\n\r\n"); err != nil {
			return
		}
		_ = c.SetReadDeadline(time.Now().Add(hold))
		if _, err := br.ReadByte(); err != nil && !IsTimeout(err) {
			letGo <- struct{}{} // closed by the gateway
			return
		}
		_, _ = io.WriteString(c, "5\r\nlast\n\r\n0\r\n\r\n")
		_, _ = br.ReadByte() // until the gateway closes or pools it
	})
	return addr, letGo
}

// startWatchedServer is startServer with the clients looked at every.
func startWatchedServer(t *testing.T, h http.Handler, ln net.Listener, every time.Duration) string {
	t.Helper()
	s := NewServer(h, zerolog.Nop())
	s.clientCheck = every
	return serveOn(t, s, ln)
}

// testCert is net/http's test certificate, from the server httptest makes.
func testCert(t *testing.T) tls.Certificate {
	t.Helper()
	s := httptest.NewTLSServer(http.NotFoundHandler())
	defer s.Close()
	return s.TLS.Certificates[0]
}

func loopbackListener(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	return ln
}

// A client that leaves while its upstream sends nothing (an event stream
// between events) frees the upstream's connection, as nginx lets an
// upstream go when its client's connection breaks
// (ngx_http_upstream_check_broken_connection: "client prematurely closed
// connection") and net/http's background read ends a request's context:
// before, the gateway held both connections until the upstream wrote
// again, which a stalled one never does. Through the lean forwarder and
// through httputil.ReverseProxy (https upstreams, base paths), for a client
// that closes, one that resets, and one over TLS.
func TestClientGoneWhileTheUpstreamStallsReleasesIt(t *testing.T) {
	const every = 50 * time.Millisecond
	forwarder := func(addr string) http.Handler {
		f := NewForwarder(ForwarderConfig{Addr: addr, Host: "app", Timeout: 5 * time.Second, Idle: 4})
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _ = f.Serve(w, r, "", nil) })
	}
	reverseProxy := func(addr string) http.Handler {
		return httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: addr})
	}
	closeConn := func(t *testing.T, c net.Conn) { require.NoError(t, c.Close()) }
	resetConn := func(t *testing.T, c net.Conn) {
		require.NoError(t, c.(*net.TCPConn).SetLinger(0))
		require.NoError(t, c.Close())
	}
	for _, tc := range []struct {
		name    string
		handler func(addr string) http.Handler
		leave   func(t *testing.T, c net.Conn)
		tls     bool
		target  string
	}{
		{"forwarder, client closes", forwarder, closeConn, false, "/events"},
		{"forwarder, client resets", forwarder, resetConn, false, "/events"},
		{"forwarder, client over TLS closes", forwarder, closeConn, true, "/events"},
		{"reverse proxy, client closes", reverseProxy, closeConn, false, "/events"},
		// An escaped path is net/http's to serve (handoff): its background
		// read ends the context the forwarder watches.
		{"forwarder, client served by net/http closes", forwarder, closeConn, false, "/ev%20ents"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			upstream, letGo := stalledUpstream(t, 20*time.Second)
			ln := loopbackListener(t)
			if tc.tls {
				ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{testCert(t)}})
			}
			addr := startWatchedServer(t, tc.handler(upstream), ln, every)
			raw, err := net.Dial("tcp", addr)
			require.NoError(t, err)
			c := raw
			if tc.tls {
				c = tls.Client(raw, &tls.Config{InsecureSkipVerify: true})
			}
			require.NoError(t, c.SetDeadline(time.Now().Add(5*time.Second)))
			_, err = io.WriteString(c, "GET "+tc.target+" HTTP/1.1\r\nHost: x\r\n\r\n")
			require.NoError(t, err)
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, nil)
			require.NoError(t, err)
			line, err := bufio.NewReader(resp.Body).ReadString('\n')
			require.NoError(t, err)
			require.Equal(t, "first\n", line, "the answer's first event")
			if tc.tls {
				tc.leave(t, raw) // the TCP connection: a TLS client's close_notify comes before its end
				_ = c.Close()
			} else {
				tc.leave(t, c)
			}
			select {
			case <-letGo:
			case <-time.After(3 * time.Second):
				t.Fatal("the stalled upstream's connection is still held 3 s after its client left (checks every 50 ms); want it closed")
			}
		})
	}
}

// A client still there is not cut, however long its answer pauses: the
// look at its socket finds it established, interval after interval.
func TestClientWaitingThroughAStallKeepsItsAnswer(t *testing.T) {
	upstream, letGo := stalledUpstream(t, 500*time.Millisecond)
	f := NewForwarder(ForwarderConfig{Addr: upstream, Host: "app", Timeout: 5 * time.Second, Idle: 4})
	addr := startWatchedServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _ = f.Serve(w, r, "", nil) }),
		loopbackListener(t), 20*time.Millisecond)
	w := dialWire(t, addr)
	for i := range 2 {
		w.send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, body := w.answer(http.MethodGet)
		require.Equal(t, http.StatusOK, resp.StatusCode, "request %d", i)
		require.Equal(t, "first\nlast\n", body, "request %d: the whole answer, after 25 looks at the client", i)
	}
	select {
	case <-letGo:
		t.Fatal("the upstream was let go while its client waited")
	default:
	}
}

// A long poll whose upstream holds the head of its answer (it answers when
// an event comes) is let go when its client leaves, not at the upstream
// timeout: the Forwarder's wait for the head is woken by the look that
// finds the client gone. The connection it woke is not pooled: the next
// client is answered, not failed on a passed deadline.
func TestClientLeavingALongPollReleasesItsUpstream(t *testing.T) {
	upstream, _, letGo := pollUpstream(t, 0)
	f := NewForwarder(ForwarderConfig{Addr: upstream, Host: "app", Timeout: 30 * time.Second, Idle: 4})
	var answered atomic.Int32
	addr := startWatchedServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := f.Serve(w, r, "", nil); err != nil {
			assert.ErrorIs(t, err, context.Canceled, "the client went away, not the upstream's timeout")
		}
		answered.Add(1)
	}), loopbackListener(t), 50*time.Millisecond)

	before := dialWire(t, addr)
	before.send("GET /now HTTP/1.1\r\nHost: x\r\n\r\n")
	_, body := before.answer(http.MethodGet)
	require.Equal(t, "now", body, "a pooled upstream connection to take for the long poll")

	poller := dialWire(t, addr)
	poller.send("GET /poll HTTP/1.1\r\nHost: x\r\n\r\n")
	time.Sleep(200 * time.Millisecond) // four looks: waiting for the head
	require.NoError(t, poller.c.Close())
	select {
	case <-letGo:
	case <-time.After(3 * time.Second):
		t.Fatal("the long poll's upstream is still held 3 s after its client left (looks every 50 ms); want it let go at once, not at the 30 s timeout")
	}
	require.Eventually(t, func() bool { return answered.Load() == 2 }, 3*time.Second, 10*time.Millisecond)

	after := dialWire(t, addr)
	for range 3 {
		after.send("GET /now HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, body := after.answer(http.MethodGet)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, "now", body)
	}
}
