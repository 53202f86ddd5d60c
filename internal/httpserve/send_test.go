package httpserve

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// serveSending serves h on a listener wrapped by Listener.
func serveSending(t *testing.T, h http.Handler, l Limits) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := New(h, l)
	go func() { _ = srv.Serve(Listener(ln, l)) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// A client that reads nothing of an answer is cut after the send timeout,
// and the handler's write fails, rather than both being held forever: no
// other bound (header, body, idle) applies while an answer is written.
func TestAClientThatReadsNothingIsCut(t *testing.T) {
	wrote := make(chan error, 1)
	addr := serveSending(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := w.Write(make([]byte, 64<<20))
		wrote <- err
	}), Limits{SendTimeout: 300 * time.Millisecond})
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	_ = conn.(*net.TCPConn).SetReadBuffer(4 << 10)
	_, err = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	select {
	case err := <-wrote:
		assert.Error(t, err, "the write was cut")
	case <-time.After(5 * time.Second):
		t.Fatal("a client that reads nothing holds the handler's write")
	}
}

// A client that reads slowly but steadily gets the whole answer, however
// longer than the send timeout it takes: the timeout bounds each piece.
func TestASlowReaderGetsTheWholeAnswer(t *testing.T) {
	const size = 1 << 20
	addr := serveSending(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(make([]byte, size))
	}), Limits{SendTimeout: 300 * time.Millisecond})
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	_ = conn.(*net.TCPConn).SetReadBuffer(16 << 10)
	_, err = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReaderSize(conn, 4<<10), nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	start, n, buf := time.Now(), 0, make([]byte, 64<<10)
	for {
		m, err := resp.Body.Read(buf)
		n += m
		if err != nil {
			require.ErrorIs(t, err, io.EOF)
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	assert.Equal(t, size, n)
	assert.Greater(t, time.Since(start), 300*time.Millisecond, "slower than the send timeout")
}
