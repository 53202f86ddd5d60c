//go:build linux

package http1

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// pollUpstream answers /now at once and holds /poll (a long poll) until
// the gateway closes it, which letGo tells; received tells each path it
// read. Each connection waits pause before it reads its first request.
func pollUpstream(t *testing.T, pause time.Duration) (addr string, received chan string, letGo chan struct{}) {
	t.Helper()
	received, letGo = make(chan string, 16), make(chan struct{}, 4)
	addr = testenv.ServeTCP(t, func(c net.Conn) {
		defer c.Close()
		time.Sleep(pause)
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, req.Body)
			received <- req.URL.Path
			if req.URL.Path == "/poll" {
				_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
				if _, err := br.ReadByte(); err != nil && !IsTimeout(err) {
					letGo <- struct{}{}
				}
				return
			}
			if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nnow"); err != nil {
				return
			}
		}
	})
	return addr, received, letGo
}

// A long poll with its own read timeout (the timeouts policy) whose client
// leaves while the Forwarder still sends the request is let go within the
// look, not at the read timeout: the read deadline set once the request is
// sent must not undo the wake. Here the app takes the body only after a
// while; the handler read it first (as a policy that looks at the body).
func TestClientGoneWhileTheRequestIsSentCustomTimeouts(t *testing.T) {
	const size = 8 << 20 // more than the sockets between the gateway and the app hold while it does not read
	upstream, received, letGo := pollUpstream(t, time.Second)
	f := NewForwarder(ForwarderConfig{Addr: upstream, Host: "app", Timeout: 30 * time.Second, Idle: 4})
	served := make(chan error, 1)
	addr := startWatchedServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := make([]byte, r.ContentLength)
		_, err := io.ReadFull(r.Body, body)
		require.NoError(t, err)
		r.Body = io.NopCloser(bytes.NewReader(body))
		served <- f.ServeWith(w, r, "", nil, Options{Read: 10 * time.Second})
	}), loopbackListener(t), 100*time.Millisecond)
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(15*time.Second)))
	uploadAndEnd(t, c, http.MethodPut, "/poll", size)
	select {
	case p := <-received:
		require.Equal(t, "/poll", p)
	case <-time.After(10 * time.Second):
		t.Fatalf("the app never got the request (served: %v)", <-served)
	}
	select {
	case <-letGo:
	case <-time.After(3 * time.Second):
		t.Fatal("the long poll is still held 3 s after the request was sent, its client gone (looks every 100 ms); want it let go, not at the 10 s read timeout")
	}
	assert.ErrorIs(t, <-served, context.Canceled)
}

// A request whose client left before the handler forwards it (a slow
// policy first) is not sent to the app, which would act on it for no one:
// net/http's Transport refuses a cancelled request too. The pooled
// connection would otherwise carry it.
func TestClientGoneBeforeForwardingIsNotSent(t *testing.T) {
	const every = 50 * time.Millisecond
	upstream, received, _ := pollUpstream(t, 0)
	f := NewForwarder(ForwarderConfig{Addr: upstream, Host: "app", Timeout: 30 * time.Second, Idle: 4})
	served := make(chan error, 1)
	addr := startWatchedServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/poll" {
			time.Sleep(6 * every) // a slow policy: the look finds its client gone meanwhile
			served <- f.ServeWith(w, r, "", nil, Options{Retries: 2})
			return
		}
		_ = f.Serve(w, r, "", nil)
	}), loopbackListener(t), every)
	before := dialWire(t, addr)
	before.send("GET /now HTTP/1.1\r\nHost: x\r\n\r\n")
	_, body := before.answer(http.MethodGet)
	require.Equal(t, "now", body, "a pooled connection to the app")
	require.Equal(t, "/now", <-received)

	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	_, err = io.WriteString(c, "POST /poll HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	require.NoError(t, c.(*net.TCPConn).CloseWrite())
	select {
	case err := <-served:
		assert.ErrorIs(t, err, context.Canceled)
	case <-time.After(5 * time.Second):
		t.Fatal("the request is not done 5 s after its client left")
	}
	select {
	case p := <-received:
		t.Fatalf("the app got %s, whose client had left before it was forwarded", p)
	case <-time.After(100 * time.Millisecond):
	}
}

// A stalled event stream with its own read timeout (the timeouts policy)
// whose client leaves is let go within the look, as one without is, not
// at the read timeout.
func TestClientGoneFromAStallWithAReadTimeout(t *testing.T) {
	upstream, letGo := stalledUpstream(t, 20*time.Second)
	f := NewForwarder(ForwarderConfig{Addr: upstream, Host: "app", Timeout: 5 * time.Second, Idle: 4})
	addr := startWatchedServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = f.ServeWith(w, r, "", nil, Options{Read: 10 * time.Second})
	}), loopbackListener(t), 50*time.Millisecond)
	w := dialWire(t, addr)
	w.send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(w.br, nil)
	require.NoError(t, err)
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "first\n", line)
	require.NoError(t, w.c.Close())
	select {
	case <-letGo:
	case <-time.After(3 * time.Second):
		t.Fatal("the stalled stream is still held 3 s after its client left (looks every 50 ms); want it let go, not at the 10 s read timeout")
	}
}
