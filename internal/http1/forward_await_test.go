package http1

import (
	"bufio"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// oneAnswerUpstream answers one request on each connection without saying
// it will close, then ends the connection with end; it counts connections.
func oneAnswerUpstream(t *testing.T, end func(net.Conn)) (*Forwarder, *atomic.Int32) {
	t.Helper()
	var conns atomic.Int32
	addr := testenv.ServeTCP(t, func(c net.Conn) {
		conns.Add(1)
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
		_, _ = c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
		end(c)
	})
	return NewForwarder(ForwarderConfig{Addr: addr, Host: "app", Timeout: 10 * time.Second, Idle: 4}), &conns
}

func forwardGet(t *testing.T, f *Forwarder) {
	t.Helper()
	w := httptest.NewRecorder()
	require.NoError(t, f.Serve(w, httptest.NewRequest("GET", "/", nil), "", nil))
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, "ok", w.Body.String())
}

// A pooled connection the upstream closed right after its answer: the next
// request, sent on it and waiting for the answer (WriteAwait), is woken by
// the reset and goes to a fresh connection at once.
func TestForwarderLeavesAConnectionTheUpstreamClosed(t *testing.T) {
	f, conns := oneAnswerUpstream(t, func(c net.Conn) { c.Close() })
	forwardGet(t, f)
	time.Sleep(10 * time.Millisecond) // the end is in before the next request
	start := time.Now()
	forwardGet(t, f)
	assert.Less(t, time.Since(start), 2*time.Second)
	assert.Equal(t, int32(2), conns.Load())
}

// An upstream that ends an idle connection with a lingering close (its
// side shut, still reading for a while, as Apache's httpd) is not waited
// for: a connection idle longer than awaitIdle is written without
// waiting, and the end is read at once.
func TestForwarderDoesNotWaitOnALingeringClose(t *testing.T) {
	f, conns := oneAnswerUpstream(t, func(c net.Conn) {
		_ = c.(*net.TCPConn).CloseWrite()
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 512)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	})
	forwardGet(t, f)
	time.Sleep(awaitIdle + 50*time.Millisecond)
	start := time.Now()
	forwardGet(t, f)
	assert.Less(t, time.Since(start), 2*time.Second, "the linger is not waited for")
	assert.Equal(t, int32(2), conns.Load())
}
