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

// refuse answers 403 without reading the body.
var refuse = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	http.Error(w, "refused", http.StatusForbidden)
})

// A handler that answers without reading the body it was sent (a refusal)
// is answered within unreadBodyGrace, and the connection closed, however
// long the body timeout: net/http would otherwise wait for the body first.
func TestARefusalIsNotHeldForTheBody(t *testing.T) {
	addr := serve(t, refuse, Limits{BodyTimeout: 20 * time.Second})
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{")
	require.NoError(t, err)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(unreadBodyGrace+3*time.Second)))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err, "answered before the body's end")
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.True(t, resp.Close, "the connection is closed, its body unread")
}

// A client that waits for 100-continue before sending its body is refused
// without being asked for it.
func TestARefusalDoesNotAskForTheBody(t *testing.T) {
	addr := serve(t, refuse, Limits{})
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1000\r\n\r\n")
	require.NoError(t, err)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(3*time.Second)))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "the refusal, not 100 Continue")
	assert.True(t, resp.Close)
}

// A small body sent whole and left unread keeps the connection alive.
func TestAnUnreadBodySentWholeKeepsTheConnection(t *testing.T) {
	addr := serve(t, refuse, Limits{})
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	br := bufio.NewReader(conn)
	for i := range 2 {
		_, err = io.WriteString(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
		require.NoError(t, err)
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(3*time.Second)))
		resp, err := http.ReadResponse(br, nil)
		require.NoError(t, err, "request %d", i)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusForbidden, resp.StatusCode)
		assert.False(t, resp.Close, "request %d: kept alive", i)
	}
}
