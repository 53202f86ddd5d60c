//go:build linux

package http1

import (
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A kept client that sends its last request with its end is closed once
// answered, not held for the 2-minute idle timeout. After a request that
// came while the loop waited (the client waits for answers), the loop
// waits for the next readiness edge without trying a read; a request that
// comes in the same segment as the client's end (TCP_CORK, then a
// shutdown of the write side) is one edge, read and answered, and no edge
// follows to show the end. The look at idle connections finds the socket
// in CLOSE_WAIT and ends the wait.
func TestKeptClientSendingItsEndWithItsLastRequestIsClosed(t *testing.T) {
	addr := startWatchedServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.URL.Path)
	}), loopbackListener(t), 20*time.Millisecond)
	w := dialWire(t, addr)
	ask := func(path string) {
		t.Helper()
		resp, body := w.answer(http.MethodGet)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, path, body)
	}
	for _, path := range []string{"/one", "/two"} {
		w.send("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n")
		ask(path)
		time.Sleep(10 * time.Millisecond) // the loop waits for the next request
	}
	tc := w.c.(*net.TCPConn)
	rc, err := tc.SyscallConn()
	require.NoError(t, err)
	require.NoError(t, rc.Control(func(fd uintptr) {
		require.NoError(t, syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_CORK, 1))
	}))
	w.send("GET /three HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, tc.CloseWrite()) // the end goes out with the corked request
	ask("/three")
	require.NoError(t, w.c.SetReadDeadline(time.Now().Add(3*time.Second)))
	n, err := w.br.Read(make([]byte, 1))
	require.Equal(t, 0, n)
	require.ErrorIs(t, err, io.EOF, "the gateway closes the connection once the client's end is seen (within 3 s, looks every 20 ms), not after the 2-minute idle timeout")
}
