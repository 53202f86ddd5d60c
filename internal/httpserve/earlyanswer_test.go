package httpserve

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stallListener's connections stall their next write for stall once told:
// a client that stops reading for a while.
type stallListener struct {
	net.Listener
	stall *atomic.Bool
}

func (l stallListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return stallConn{Conn: c, stall: l.stall}, nil
}

type stallConn struct {
	net.Conn
	stall *atomic.Bool
}

func (c stallConn) Write(p []byte) (int, error) {
	if c.stall.CompareAndSwap(true, false) {
		time.Sleep(2 * time.Second)
	}
	return c.Conn.Write(p)
}

// An answer flushed before its handler returned, the body left unread (net/http
// then discards it, and reads on in the background), and its end sent to a
// client slow to take it, leaves the connection's next requests their
// context: the unread body's grace does not cut net/http's background read.
func TestAnEarlyAnswerToAnUnreadBodyLeavesTheNextRequestsContextAlive(t *testing.T) {
	var stall atomic.Bool
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/c" {
			if err := r.Context().Err(); err != nil {
				io.WriteString(w, "canceled")
				return
			}
			io.WriteString(w, "ok")
			return
		}
		// ignores its body; answers in two parts, the first flushed at once
		io.WriteString(w, "first part\n")
		http.NewResponseController(w).Flush()
		io.WriteString(w, "last part\n")
		stall.Store(true) // the client reads the rest slowly
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := New(h, Limits{})
	go func() { _ = srv.Serve(Listener(stallListener{Listener: ln, stall: &stall}, Limits{})) }()
	t.Cleanup(func() { _ = srv.Close() })

	conn, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(conn)
	_, err = io.WriteString(conn, "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
	require.NoError(t, err)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	require.False(t, resp.Close)

	_, err = io.WriteString(conn, "GET /c HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	resp, err = http.ReadResponse(br, nil)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	assert.Equal(t, "ok", string(b), "the next request on the connection is not born canceled")
}
