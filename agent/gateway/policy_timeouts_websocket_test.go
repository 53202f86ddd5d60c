package gateway

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/testenv"
)

// websocketTimeoutsChain is the timeouts policy (upstream_connection) with
// conf, the websocket policy and the apicast element.
func websocketTimeoutsChain(conf string) string {
	return `[{"name":"upstream_connection","version":"builtin","enabled":true,"configuration":` + conf + `},
		{"name":"websocket","version":"builtin","enabled":true,"configuration":{}},
		{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`
}

// exchangeFor exchanges a message every gap for d, failing at the first
// message that does not come back.
func exchangeFor(t *testing.T, addr string, d, gap time.Duration) (last time.Time, c io.ReadWriteCloser, ok bool) {
	t.Helper()
	ws, err := dialWebsocket(addr, "/?user_key=premium-key")
	require.NoError(t, err)
	start := time.Now()
	for i := 0; time.Since(start) < d; i++ {
		msg := "frame " + strings.Repeat("x", i%7)
		require.NoError(t, ws.SetDeadline(time.Now().Add(5*time.Second)))
		if err := typedCodec.Send(ws, msg); err != nil {
			assert.Fail(t, "the tunnel was cut", "after %v: %v", time.Since(start), err)
			return time.Time{}, ws, false
		}
		var m wsMessage
		if err := typedCodec.Receive(ws, &m); err != nil {
			assert.Fail(t, "the tunnel was cut", "after %v: %v", time.Since(start), err)
			return time.Time{}, ws, false
		}
		if !assert.Equal(t, "Data: "+msg+" Type: text", m.data) {
			return time.Time{}, ws, false
		}
		last = time.Now()
		time.Sleep(gap)
	}
	return last, ws, true
}

// The manifest's read_timeout is the "Timeout between two successive read
// operations (in seconds)": nginx bounds a WebSocket's handshake with its
// connect, send and read timeouts, and once the connection is switched it
// closes it only when no data has passed for proxy_read_timeout. A
// WebSocket exchanging frames for 2.5 s under a read_timeout of 1 s stays
// open.
func TestPolicyTimeoutsWebsocketActiveTunnelIsNotCut(t *testing.T) {
	addr, _ := startWebsocketGateway(t, websocketTimeoutsChain(`{"read_timeout":1}`))
	_, c, ok := exchangeFor(t, addr, 2500*time.Millisecond, 250*time.Millisecond)
	c.Close()
	assert.True(t, ok)
}

// An idle tunnel is closed, as nginx closes one through which nothing has
// passed for proxy_read_timeout (its upgraded handler arms the upstream's
// read timer again at each event, either way): here a second after the
// last frame, following 1.5 s of exchanges.
func TestPolicyTimeoutsWebsocketIdleTunnelIsClosed(t *testing.T) {
	addr, _ := startWebsocketGateway(t, websocketTimeoutsChain(`{"read_timeout":1}`))
	last, c, ok := exchangeFor(t, addr, 1500*time.Millisecond, 250*time.Millisecond)
	defer c.Close()
	require.True(t, ok)
	ws := c.(interface{ SetReadDeadline(time.Time) error })
	require.NoError(t, ws.SetReadDeadline(time.Now().Add(5*time.Second)))
	_, err := c.Read(make([]byte, 64))
	idle := time.Since(last)
	require.Error(t, err, "nothing comes: the tunnel ends")
	var ne net.Error
	assert.False(t, errors.As(err, &ne) && ne.Timeout(), "the gateway closed it, before the client's deadline: %v", err)
	assert.GreaterOrEqual(t, idle, 900*time.Millisecond)
	assert.Less(t, idle, 3*time.Second)
}

// startHandshakeGateway runs a gateway with chain in front of upstream (a
// host:port).
func startHandshakeGateway(t *testing.T, chain, upstream string) string {
	t.Helper()
	f := newGatewayFixture(t, backendUserKey)
	f.proxy(t, func(p *composition.Proxy) { p.PolicyChain = policyChain(t, chain) })
	_, base, _ := startTestGateway(t, f, "http://"+upstream, f.placement(f.premium), Config{})
	return strings.TrimPrefix(base, "http://")
}

// handshake sends a WebSocket handshake and returns the answer's status
// and how long it took.
func handshake(t *testing.T, addr string) (int, time.Duration) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	start := time.Now()
	_, err = io.WriteString(c, "GET /?user_key=premium-key HTTP/1.1\r\nHost: gw\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	require.NoError(t, err)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode, time.Since(start)
}

// The handshake stays bounded: an upstream that takes it and never
// answers, or that cannot be connected to, is answered 504, as nginx
// answers an upstream timeout, within the timeouts.
func TestPolicyTimeoutsWebsocketHandshakeTimesOut(t *testing.T) {
	silent := testenv.ServeTCP(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) }) // reads, never answers
	addr := startHandshakeGateway(t, websocketTimeoutsChain(`{"read_timeout":0.3}`), silent)
	status, took := handshake(t, addr)
	assert.Equal(t, http.StatusGatewayTimeout, status, "never answered")
	assert.Less(t, took, 2*time.Second)

	addr = startHandshakeGateway(t, websocketTimeoutsChain(`{"connect_timeout":0.3}`), fullListener(t))
	status, took = handshake(t, addr)
	assert.Equal(t, http.StatusGatewayTimeout, status, "never connected")
	assert.Less(t, took, 2*time.Second)
}
