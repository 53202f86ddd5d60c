//go:build linux

package http1

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A client that sends a whole upload and then its end (nc -N, a script's
// socket shutdown) has not left while its upload is still being read: the
// end comes after the body, so the socket is in CLOSE_WAIT with the body
// unread. nginx reads the body before it watches the client (and its check
// peeks: unread data is not an end); net/http starts its background read
// once the body is read. Here the app reads the body slowly (a slow
// upstream behind the gateway's forwarder does the same: the gateway reads
// the body as fast as the upstream takes it), and answers at once.
func TestClientSendingItsEndAfterAnUploadKeepsItsRequest(t *testing.T) {
	const size = 64 << 10 // more than the server buffers with the head, less than the sockets hold
	const every = 50 * time.Millisecond
	sent := make(chan struct{}) // the client's end reached the server
	ended := make(chan error, 1)
	addr := startWatchedServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 1<<10)
		_, err := io.ReadFull(r.Body, buf)
		require.NoError(t, err)
		select {
		case <-sent:
		case <-time.After(5 * time.Second):
		}
		time.Sleep(6 * every) // the app is slow: most of the body is still unread
		n, err := io.Copy(io.Discard, r.Body)
		require.NoError(t, err)
		require.EqualValues(t, size-len(buf), n)
		ended <- r.Context().Err()
		_, _ = io.WriteString(w, "stored")
	}), loopbackListener(t), every)
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	uploadAndEnd(t, c, http.MethodPost, "/upload", size)
	for start := time.Now(); !finAcked(c) && time.Since(start) < 5*time.Second; {
		time.Sleep(time.Millisecond)
	}
	close(sent)
	require.NoError(t, <-ended, "the request was ended while its body was still being read")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, "stored", string(body))
}

// finAcked reports whether c's end was acknowledged by its peer (FIN_WAIT2):
// the peer's socket is in CLOSE_WAIT.
func finAcked(c net.Conn) bool {
	state, ok := tcpState(c)
	return ok && state == tcpFinWait2
}

// uploadAndEnd sends a request of method to path on c with a body of size
// zero bytes, then the client's end: the whole request is sent.
func uploadAndEnd(t *testing.T, c net.Conn, method, path string, size int) {
	t.Helper()
	_, err := io.WriteString(c, method+" "+path+" HTTP/1.1\r\nHost: x\r\nContent-Length: "+strconv.Itoa(size)+"\r\n\r\n")
	require.NoError(t, err)
	_, err = c.Write(make([]byte, size))
	require.NoError(t, err)
	require.NoError(t, c.(*net.TCPConn).CloseWrite())
}
