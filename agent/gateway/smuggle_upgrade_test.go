package gateway

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// An upgrade to h2c is never passed to the app: an app that takes it
// (Go's h2c.NewHandler, Jetty, Tomcat and Netty with h2c enabled) would
// serve, over the switched connection, every request the client sends
// next, none of them seen by the gateway: no credentials, mapping rules or
// limits (Bishop Fox's "h2c smuggling"). The gateway forwards the request
// without the upgrade, as any other; it speaks h2c to clients itself when
// configured to (TLS.H2C). APIcast never passes an upgrade on but for a
// WebSocket handshake with its Websocket policy (3scale/APIcast
// gateway/conf.d/apicast.conf: "proxy_set_header Connection
// $upstream_connection_header", empty unless that policy sets "Upgrade").
func TestGatewayWireH2CUpgradeIsNotPassedToTheApp(t *testing.T) {
	app := newWtRawApp(t, func(r *http.Request, c net.Conn) {
		if strings.EqualFold(r.Header.Get("Upgrade"), "h2c") {
			// Switched: what follows is served without the gateway.
			_, _ = io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n")
			return
		}
		wtPathAnswer(r, c)
	})
	addr := startWtGatewayTo(t, app.url)
	for _, upgrade := range []string{"h2c", "H2C"} {
		wc := wtDial(t, addr)
		wc.send("GET /h2c?" + wtKey + " HTTP/1.1\r\nHost: gw\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: " + upgrade +
			"\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n")
		a := wc.read("GET")
		assert.Equal(t, http.StatusOK, a.status, upgrade)
		assert.Equal(t, "/h2c", a.body, upgrade)
		assert.True(t, a.close, "%s: an upgrade not switched ends the connection", upgrade)
		_, _ = io.WriteString(wc.c, "GET /unchecked HTTP/1.1\r\nHost: app\r\n\r\n")
		wc.closed()
	}
	time.Sleep(50 * time.Millisecond) // what the app would have read
	for _, r := range app.requests() {
		assert.NotContains(t, r, "/unchecked")
		assert.NotContains(t, strings.ToLower(r), "upgrade")
		assert.NotContains(t, strings.ToLower(r), "http2-settings")
	}
}

// Only a WebSocket handshake is relayed as an upgrade: an app that
// switches to whatever it is asked (here "echo", or a WebSocket asked
// without its Sec-WebSocket-Key) would otherwise open a raw tunnel past
// every check after one authorised request. Such a request reaches the app
// as an ordinary one, without Upgrade, as APIcast sends every request but
// a WebSocket handshake under its websocket policy.
func TestGatewayWireOnlyWebSocketHandshakesAreUpgrades(t *testing.T) {
	app := newWtRawApp(t, func(r *http.Request, c net.Conn) {
		if r.Header.Get("Upgrade") != "" {
			_, _ = io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: "+r.Header.Get("Upgrade")+"\r\n\r\n")
			return
		}
		wtPathAnswer(r, c)
	})
	addr := startWtGatewayTo(t, app.url)
	for name, head := range map[string]string{
		"another protocol":          "Connection: Upgrade\r\nUpgrade: echo\r\n",
		"a WebSocket without a key": "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n",
	} {
		wc := wtDial(t, addr)
		wc.send("GET /up?" + wtKey + " HTTP/1.1\r\nHost: gw\r\n" + head + "\r\n")
		a := wc.read("GET")
		assert.Equal(t, http.StatusOK, a.status, name)
		assert.Equal(t, "/up", a.body, name)
		_, _ = io.WriteString(wc.c, "GET /unchecked HTTP/1.1\r\nHost: app\r\n\r\n")
		wc.closed()
	}
	time.Sleep(50 * time.Millisecond) // what the app would have read
	for _, r := range app.requests() {
		assert.NotContains(t, r, "/unchecked")
		assert.NotContains(t, strings.ToLower(r), "upgrade:")
	}
}
