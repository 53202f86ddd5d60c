package mgmt

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/httpserve"
)

// noUpstream is never dialled: these calls end at the proxy.
const noUpstream = "http://127.0.0.1:1"

// A body declared and never sent held a proxy connection for a minute; it
// is now cut after the configured body timeout.
func TestABodyThatNeverComesDoesNotHoldTheProxy(t *testing.T) {
	cfg := testSelection
	cfg.Limits = httpserve.Limits{BodyTimeout: 300 * time.Millisecond}
	env := startProxy(t, noUpstream, "admin-token", cfg)
	conn, err := net.Dial("tcp", env.addr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "POST /admin/api/services.json HTTP/1.1\r\nHost: localhost\r\n"+
		"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nname=")
	require.NoError(t, err)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	start := time.Now()
	_, err = io.ReadAll(conn)
	assert.NoError(t, err, "the proxy closed the connection")
	assert.Less(t, time.Since(start), 5*time.Second)
}

// The operation is checked before the body is read: a call the selection
// refuses is answered at once, whatever body it announces.
func TestTheProxyRefusesAnOmittedCallBeforeItsBody(t *testing.T) {
	env := startProxy(t, noUpstream, "admin-token", testSelection)
	conn, err := net.Dial("tcp", env.addr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "POST /admin/api/accounts/1/applications.json HTTP/1.1\r\nHost: localhost\r\n"+
		"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nplan_id=")
	require.NoError(t, err)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(2*time.Second)))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err, "answered before the body's end")
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
}

// Headers are bounded by the configured size.
func TestTheProxyBoundsHeaders(t *testing.T) {
	cfg := testSelection
	cfg.Limits = httpserve.Limits{MaxHeaderBytes: 4 << 10}
	env := startProxy(t, noUpstream, "admin-token", cfg)
	resp, _ := call(t, http.MethodGet, env.url+"/openapi.json", "", "", "X-Big", strings.Repeat("a", 16<<10))
	assert.Equal(t, http.StatusRequestHeaderFieldsTooLarge, resp.StatusCode)
}
