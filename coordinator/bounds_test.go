package coordinator_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/coordinator"
	"github.com/portolan/portolan/internal/httpserve"
	"github.com/portolan/portolan/registry"
)

// A request whose body is declared and never sent used to hold a
// coordinator connection forever: it is now cut after the body timeout, on
// the 3scale API (whose token may come in the body) as on the agent API.
func TestABodyThatNeverComesDoesNotHoldTheCoordinator(t *testing.T) {
	c, err := coordinator.New(coordinator.Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), AccessToken: usageAdminToken,
		AgentToken: usageAgentToken, Logger: zerolog.Nop(), Limits: httpserve.Limits{BodyTimeout: 300 * time.Millisecond}})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	cred := registerNews(t, "http://"+c.Addr(), "slow-1") // usage is taken from an instance with its credential

	for _, path := range []string{"/admin/api/services.json", registry.PathUsage} {
		conn, err := net.Dial("tcp", c.Addr())
		require.NoError(t, err)
		_, err = io.WriteString(conn, "POST "+path+" HTTP/1.1\r\nHost: home\r\nAuthorization: Bearer "+cred+
			"\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\naccess_token=")
		require.NoError(t, err)
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
		start := time.Now()
		_, err = io.ReadAll(conn)
		assert.NoError(t, err, "%s: the coordinator closed the connection", path)
		assert.Less(t, time.Since(start), 5*time.Second, path)
		conn.Close()
	}
}

// The agent API checks the token before it reads a body: a caller without
// it is answered 401 at once, whatever body it announces.
func TestTheAgentAPIChecksTheTokenBeforeTheBody(t *testing.T) {
	base, _ := startUsageHome(t, t.TempDir())
	conn, err := net.Dial("tcp", base[len("http://"):])
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "POST "+registry.PathUsage+" HTTP/1.1\r\nHost: home\r\nContent-Length: 1000\r\n\r\n{")
	require.NoError(t, err)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(2*time.Second)))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err, "answered before the body's end")
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
}

// A client that reads nothing of its answers (here, pipelined requests for
// the public JSON Schema) is disconnected after the send timeout, rather
// than holding the connection and its handler forever.
func TestACoordinatorClientThatReadsNothingIsCut(t *testing.T) {
	c, err := coordinator.New(coordinator.Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), AccessToken: usageAdminToken,
		Logger: zerolog.Nop(), Limits: httpserve.Limits{SendTimeout: 200 * time.Millisecond}})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	conn, err := net.Dial("tcp", c.Addr())
	require.NoError(t, err)
	defer conn.Close()
	_ = conn.(*net.TCPConn).SetReadBuffer(4 << 10)
	req := []byte("GET /admin/portolan/schema.json HTTP/1.1\r\nHost: home\r\n\r\n")
	for range 1000 { // some 20 MB of answers, far more than the sockets buffer
		_, err = conn.Write(req)
		require.NoError(t, err)
	}
	time.Sleep(time.Second) // reading nothing, well past the send timeout
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	n, err := io.Copy(io.Discard, conn)
	if err != nil { // closed with requests unread: a reset
		assert.ErrorIs(t, err, syscall.ECONNRESET, "the coordinator closed the connection (after %d bytes)", n)
	}
	assert.Less(t, n, int64(1000*20000), "not every answer was sent")
}
