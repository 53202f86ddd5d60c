package mgmt

import (
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/httpserve"
)

// An app that pipelines calls and reads nothing of the answers does not hold
// a proxy connection, and its handler, for good: the connection is cut once
// the send timeout passes without a byte taken (nginx's send_timeout).
func TestAnAppThatReadsNothingIsCut(t *testing.T) {
	cfg := testSelection
	cfg.Limits = httpserve.Limits{SendTimeout: 200 * time.Millisecond}
	env := startProxy(t, noUpstream, "admin-token", cfg)
	conn, err := net.Dial("tcp", env.addr)
	require.NoError(t, err)
	defer conn.Close()
	_ = conn.(*net.TCPConn).SetReadBuffer(4 << 10)
	var sent int
	for range 200 { // the filtered spec, far more than the sockets buffer
		if _, err := io.WriteString(conn, "GET /openapi.json HTTP/1.1\r\nHost: localhost\r\n\r\n"); err != nil {
			break
		}
		sent++
	}
	time.Sleep(time.Second) // reading nothing, well past the send timeout
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	n, err := io.Copy(io.Discard, conn)
	if err != nil {
		assert.True(t, errors.Is(err, syscall.ECONNRESET), "the proxy closed the connection (after %d bytes): %v", n, err)
	}
	one, _ := call(t, "GET", env.url+"/openapi.json", "", "")
	assert.Less(t, n, int64(sent)*one.ContentLength, "not every answer was sent")
}
