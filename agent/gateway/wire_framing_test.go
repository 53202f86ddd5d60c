package gateway

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The framing rule (RFC 9112 §6.1, as nginx): a request with both a
// Content-Length and a Transfer-Encoding is answered 400 and the connection
// closed, whichever comes first and whatever the encoding: a front proxy
// trusting the other header would take the rest for another request.
func TestGatewayWireContentLengthAndTransferEncoding(t *testing.T) {
	addr, app := startWtGateway(t, Config{})
	size := fmt.Sprintf("%x\r\n", len(wtSmuggled))
	tail := "0\r\n\r\n" + "GET /smuggled HTTP/1.1\r\nHost: gw\r\n\r\n"
	for name, head := range map[string]string{
		// TE.CL: a reader trusting the length takes the chunk's data, a request, for the next one.
		"TE.CL": "Content-Length: " + strconv.Itoa(len(size)) + "\r\nTransfer-Encoding: chunked\r\n",
		"CL.TE": "Transfer-Encoding: chunked\r\nContent-Length: " + strconv.Itoa(len(size)) + "\r\n",
		// CL.TE: a reader trusting the length takes everything as the body.
		"CL.TE long":   "Content-Length: " + strconv.Itoa(len(tail)) + "\r\nTransfer-Encoding: chunked\r\n",
		"any case":     "content-length: 3\r\ntransfer-encoding: CHUNKED\r\n",
		"gzip":         "Content-Length: 3\r\nTransfer-Encoding: gzip, chunked\r\n",
		"empty TE":     "Content-Length: 3\r\nTransfer-Encoding: \r\n",
		"zero length":  "Content-Length: 0\r\nTransfer-Encoding: chunked\r\n",
		"bare LF head": "Content-Length: 3\nTransfer-Encoding: chunked\n",
	} {
		t.Run(name, func(t *testing.T) {
			// A connection the lean loop serves, then the refused request on it.
			before := len(app.seen())
			wc := wtDial(t, addr)
			wc.send(wtGet("/first"))
			assert.Equal(t, "GET /first ", wc.read("GET").body)
			wc.send("POST /te-cl?" + wtKey + " HTTP/1.1\r\nHost: gw\r\n" + head + "\r\n" + wtChunk(wtSmuggled) + tail + wtGet("/after"))
			a := wc.read("POST")
			assert.Equal(t, 400, a.status)
			assert.Equal(t, "400 Bad Request", a.body)
			assert.True(t, a.close, "the answer says the connection closes")
			wc.closed()
			assert.Len(t, app.seen(), before+1, "only the first request reaches the app")
		})
	}
	app.assertNothingLike(t, "smuggled")
	app.assertNothingLike(t, "te-cl")
	app.assertNothingLike(t, "after")
}

// A connection net/http serves (here after an escaped path, HTTP/1.0 with
// keep-alive, a chunked body, an Expect) is held to the same rule on every
// later request: handing a connection off is no way around it.
func TestGatewayWireFramingAfterHandoff(t *testing.T) {
	addr, app := startWtGateway(t, Config{})
	refused := "POST /te-cl?" + wtKey + " HTTP/1.1\r\nHost: gw\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
	for name, first := range map[string]string{
		"escaped path": wtGet("/a%41"),
		"HTTP/1.0":     "GET /ten?" + wtKey + " HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
		"chunked body": "POST /chunked-first?" + wtKey + " HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n" + wtChunk(refused) + "0\r\n\r\n",
		"trailer":      "POST /trailer?" + wtKey + " HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n" + wtChunk("x") + "0\r\nX-T: 1\r\n\r\n",
		"many headers": "GET /many?" + wtKey + " HTTP/1.1\r\nHost: gw\r\n" + strings.Repeat("X-H: h\r\n", 100) + "\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			before := len(app.seen())
			wc := wtDial(t, addr)
			wc.send(first + wtGet("/second"))
			a := wc.read("GET")
			require.Equal(t, 200, a.status, "answer: %q", a.body)
			require.False(t, a.close)
			assert.Equal(t, "GET /second ", wc.read("GET").body, "the connection serves on")
			wc.send(refused + wtGet("/after"))
			a = wc.read("POST")
			assert.Equal(t, 400, a.status)
			assert.True(t, a.close)
			wc.closed()
			assert.Len(t, app.seen(), before+2)
		})
	}
	app.assertNothingLike(t, "te-cl")
	app.assertNothingLike(t, "after")

	// An upgrade the app does not take: its answer closes the connection,
	// since what follows an Upgrade is not followed as HTTP any more.
	wc := wtDial(t, addr)
	wc.send("GET /ws?" + wtKey + " HTTP/1.1\r\nHost: gw\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
	a := wc.read("GET")
	assert.Equal(t, 200, a.status)
	assert.True(t, a.close, "an upgrade not switched ends the connection")
	wc.closed()
}

func TestGatewayWireBadContentLength(t *testing.T) {
	addr, app := startWtGateway(t, Config{})
	head := "POST /cl?" + wtKey + " HTTP/1.1\r\nHost: gw\r\nContent-Type: text/plain\r\n"
	for _, cl := range []string{
		"Content-Length: 5\r\nContent-Length: 6\r\n",
		"Content-Length: 6\r\nContent-Length: 5\r\n",
		"Content-Length: +5\r\n",
		"Content-Length: -1\r\n",
		"Content-Length: 5 5\r\n",
		"Content-Length: 5, 5\r\n",
		"Content-Length: 0x5\r\n",
		"Content-Length: 5a\r\n",
		"Content-Length: \r\n",
		"Content-Length: 99999999999999999999\r\n",
	} {
		t.Run(strings.TrimSpace(strings.ReplaceAll(cl, "\r\n", " ")), func(t *testing.T) {
			a := wtRefused(t, addr, app, head+cl+"\r\nhello!", 400)
			assert.Equal(t, "400 Bad Request", a.body)
		})
	}

	// Repeated, even equal (net/http would keep one): refused, as nginx does.
	a := wtRefused(t, addr, app, head+"Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello", 400)
	assert.Equal(t, "400 Bad Request", a.body)

	// Accepted: spaces around the value.
	for _, cl := range []string{"Content-Length:  5 \r\n", "Content-Length:\t5\r\n"} {
		a, seen := wtServed(t, addr, app, head+cl+"\r\nhello")
		assert.Equal(t, "POST /cl hello", a.body, cl)
		assert.Equal(t, []string{"5"}, seen.header["Content-Length"], cl)
	}
}

func TestGatewayWireUnsupportedTransferEncoding(t *testing.T) {
	addr, app := startWtGateway(t, Config{})
	for _, te := range []string{
		"Transfer-Encoding: gzip, chunked\r\n",
		"Transfer-Encoding: chunked, chunked\r\n",
		"Transfer-Encoding: identity\r\n",
		"Transfer-Encoding: gzip\r\n",
		"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
		"Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n",
		"Transfer-Encoding: xchunked\r\n",
		"Transfer-Encoding: \r\n",
	} {
		t.Run(strings.TrimSpace(strings.ReplaceAll(te, "\r\n", " ")), func(t *testing.T) {
			a := wtRefused(t, addr, app, "POST /te?"+wtKey+" HTTP/1.1\r\nHost: gw\r\n"+te+"\r\n"+wtChunk("abc")+"0\r\n\r\n", 501)
			assert.Equal(t, "Unsupported transfer encoding", a.body)
		})
	}
}

// Transfer-Encoding on HTTP/1.0 (which has none; net/http would ignore it,
// golang.org/issue/12785, and read the body by the length or as empty):
// 400 and closed, with a length or without.
func TestGatewayWireHTTP10TransferEncoding(t *testing.T) {
	addr, app := startWtGateway(t, Config{})
	for _, raw := range []string{
		"POST /te10?" + wtKey + " HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc",
		"POST /te10?" + wtKey + " HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n" + wtChunk(wtSmuggled) + "0\r\n\r\n",
		"POST /te10?" + wtKey + " HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: identity\r\n\r\n",
	} {
		a := wtRefused(t, addr, app, raw, 400)
		assert.Equal(t, "400 Bad Request", a.body)
	}
	app.assertNothingLike(t, "smuggled")
	app.assertNothingLike(t, "te10")
}

// A WebSocket upgrade the app takes switches the connection: what follows
// the 101 is the app's protocol, relayed as it is, even when it looks like
// a refused HTTP head.
func TestGatewayWireUpgradeSwitches(t *testing.T) {
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		_ = brw.Flush()
		_, _ = io.Copy(c, brw) // echoes until the client closes
	}))
	t.Cleanup(echo.Close)
	f := newGatewayFixture(t, backendUserKey)
	_, gw, _ := startTestGateway(t, f, echo.URL, f.placement(f.premium), Config{})
	wc := wtDial(t, strings.TrimPrefix(gw, "http://"))
	wc.send("GET /ws?" + wtKey + " HTTP/1.1\r\nHost: gw\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	resp, err := http.ReadResponse(wc.br, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	assert.NotContains(t, resp.Header.Values("Connection"), "close")
	frame := "POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"
	wc.send(frame)
	got := make([]byte, len(frame))
	_, err = io.ReadFull(wc.br, got)
	require.NoError(t, err)
	assert.Equal(t, frame, string(got))
}
