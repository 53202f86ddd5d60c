package gateway

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/websocket"

	"github.com/portolan/portolan/composition"
)

const websocketChain = `[{"name":"apicast","version":"builtin","configuration":{},"enabled":true},
	{"name":"websocket","version":"builtin","enabled":true,"configuration":{}}]`

// wsMessage is a WebSocket message and its frame type.
type wsMessage struct {
	data string
	typ  byte
}

// typedCodec sends text frames and receives any, telling their type.
var typedCodec = websocket.Codec{
	Marshal: func(v any) ([]byte, byte, error) { return []byte(v.(string)), websocket.TextFrame, nil },
	Unmarshal: func(data []byte, typ byte, v any) error {
		*v.(*wsMessage) = wsMessage{string(data), typ}
		return nil
	},
}

// websocketApp is an upstream that takes WebSocket handshakes (with the
// subprotocol "chat" when offered) and answers each message with "Data:
// <message> Type: <text|binary>", as the upstream of APIcast's websocket
// test does; any other request gets "app". seen has every request's head.
func websocketApp(t *testing.T) (string, chan *http.Request) {
	seen := make(chan *http.Request, 16)
	ws := websocket.Server{
		Handshake: func(cfg *websocket.Config, _ *http.Request) error {
			offered := cfg.Protocol
			cfg.Protocol = nil
			for _, p := range offered {
				if p == "chat" {
					cfg.Protocol = []string{"chat"}
				}
			}
			return nil
		},
		Handler: func(c *websocket.Conn) {
			for {
				var m wsMessage
				if err := typedCodec.Receive(c, &m); err != nil {
					return
				}
				typ := "text"
				if m.typ == websocket.BinaryFrame {
					typ = "binary"
				}
				if err := typedCodec.Send(c, "Data: "+m.data+" Type: "+typ); err != nil {
					return
				}
			}
		},
	}
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Clone(context.Background())
		if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			ws.ServeHTTP(w, r)
			return
		}
		_, _ = io.WriteString(w, "app")
	}))
	t.Cleanup(s.Close)
	return s.URL, seen
}

// startWebsocketGateway runs a gateway with chain in front of a
// websocketApp; it returns the gateway's host:port and what the app saw.
func startWebsocketGateway(t *testing.T, chain string) (string, chan *http.Request) {
	t.Helper()
	app, seen := websocketApp(t)
	f := newGatewayFixture(t, backendUserKey)
	f.proxy(t, func(p *composition.Proxy) { p.PolicyChain = policyChain(t, chain) })
	_, base, _ := startTestGateway(t, f, app, f.placement(f.premium), Config{})
	return strings.TrimPrefix(base, "http://"), seen
}

// dialWebsocket opens a WebSocket to the gateway at addr, offering "chat".
func dialWebsocket(addr, target string) (*websocket.Conn, error) {
	cfg, err := websocket.NewConfig("ws://"+addr+target, "http://client.example/")
	if err != nil {
		return nil, err
	}
	cfg.Protocol = []string{"chat"}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return cfg.DialContext(ctx)
}

// exchange sends msg (text, or binary when it is []byte) and returns the
// answer.
func exchange(t *testing.T, c *websocket.Conn, msg any) string {
	t.Helper()
	require.NoError(t, c.SetDeadline(time.Now().Add(5*time.Second)))
	require.NoError(t, websocket.Message.Send(c, msg))
	var m wsMessage
	require.NoError(t, typedCodec.Receive(c, &m))
	return m.data
}

// APIcast's "Simple Websocket connection pass through": with the policy
// ("Allows websocket connection pass through"), a client's WebSocket
// reaches the upstream once authorized, and frames go both ways: "received:
// Data: Sending from client Type: text". The subprotocol the upstream
// chose reaches the client, and the upstream gets the handshake with its
// Upgrade and Connection.
func TestPolicyWebsocketPassesThrough(t *testing.T) {
	addr, seen := startWebsocketGateway(t, websocketChain)
	c, err := dialWebsocket(addr, "/?user_key=premium-key")
	require.NoError(t, err)
	defer c.Close()
	assert.Equal(t, []string{"chat"}, c.Config().Protocol, "the upstream's subprotocol")
	assert.Equal(t, "Data: Sending from client Type: text", exchange(t, c, "Sending from client"))
	assert.Equal(t, "Data: \x00\x01binary Type: binary", exchange(t, c, []byte("\x00\x01binary")))
	assert.Equal(t, "Data: again Type: text", exchange(t, c, "again"), "the connection stays open")
	r := reachedUpstream(t, seen)
	assert.Equal(t, "websocket", r.Header.Get("Upgrade"))
	assert.Contains(t, strings.ToLower(r.Header.Get("Connection")), "upgrade")
	assert.Equal(t, "chat", r.Header.Get("Sec-Websocket-Protocol"))
}

// The handshake is a request like any other: without credentials it gets
// the apicast element's 403 and never reaches the upstream.
func TestPolicyWebsocketHandshakeIsAuthorized(t *testing.T) {
	addr, seen := startWebsocketGateway(t, websocketChain)
	_, err := dialWebsocket(addr, "/")
	require.Error(t, err)
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	_, err = io.WriteString(c, "GET / HTTP/1.1\r\nHost: gw\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.Empty(t, seen, "nothing reaches the upstream")
}

// APIcast's "No websocket connection with policy does not change Upgrade
// header": a request that is no WebSocket handshake goes on as any other,
// without an Upgrade. APIcast's policy takes any Upgrade that comes with a
// Sec-WebSocket-Key; the gateway takes a WebSocket one only, so an h2c
// upgrade with a key is not relayed either.
func TestPolicyWebsocketOtherRequestsGetNoUpgrade(t *testing.T) {
	addr, seen := startWebsocketGateway(t, websocketChain)
	for name, head := range map[string]string{
		"no upgrade":                "",
		"a WebSocket without a key": "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n",
		"h2c with a key":            "Connection: Upgrade\r\nUpgrade: h2c\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
	} {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		_, err = io.WriteString(c, "GET /?user_key=premium-key HTTP/1.1\r\nHost: gw\r\n"+head+"\r\n")
		require.NoError(t, err)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		require.NoError(t, err, name)
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		resp.Body.Close()
		c.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, name)
		assert.Equal(t, "app", string(b), name)
		r := reachedUpstream(t, seen)
		assert.Empty(t, r.Header.Get("Upgrade"), name)
	}
}

// WebSocket upgrades keep working for a chain without the policy (the
// gateway relayed them before it ran the policy, and chains saved since
// rely on it): the policy only states what the gateway does anyway.
func TestPolicyWebsocketAbsentStillPassesThrough(t *testing.T) {
	addr, _ := startWebsocketGateway(t, `[{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`)
	c, err := dialWebsocket(addr, "/?user_key=premium-key")
	require.NoError(t, err)
	defer c.Close()
	assert.Equal(t, "Data: without the policy Type: text", exchange(t, c, "without the policy"))
}

// The manifest's configuration has no properties: the timeout and
// max_payload_len of APIcast's test belong to its upstream. Keys the
// policy does not know are ignored, as APIcast ignores them.
func TestPolicyWebsocketIgnoresUnknownKeys(t *testing.T) {
	addr, _ := startWebsocketGateway(t, `[{"name":"apicast","version":"builtin","configuration":{},"enabled":true},
		{"name":"websocket","version":"builtin","enabled":true,"configuration":{"timeout":5000,"max_payload_len":65535}}]`)
	c, err := dialWebsocket(addr, "/?user_key=premium-key")
	require.NoError(t, err)
	defer c.Close()
	long := strings.Repeat("x", 70000) // over that max_payload_len: not the policy's
	assert.Equal(t, "Data: "+long+" Type: text", exchange(t, c, long))
}
