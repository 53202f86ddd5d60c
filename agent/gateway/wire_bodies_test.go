package gateway

import (
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGatewayWireContentLengthBodies(t *testing.T) {
	addr, app := startWtGateway(t, Config{})
	wc := wtDial(t, addr)
	wc.send(wtPost("/hello", "hello"))
	a := wc.read("POST")
	assert.Equal(t, 200, a.status)
	assert.Equal(t, "POST /hello hello", a.body)
	seen := app.seen()
	require.Len(t, seen, 1)
	assert.Equal(t, "hello", seen[0].body)
	assert.Equal(t, int64(5), seen[0].length)
	assert.Equal(t, []string{"5"}, seen[0].header["Content-Length"])
	assert.Nil(t, seen[0].te)

	// The head and the body split over several writes, with pauses.
	for _, part := range []string{"POST /split?" + wtKey + " HT", "TP/1.1\r\nHost: gw\r\nContent-Le", "ngth: 11\r\n\r\n", "hello", " wor", "ld"} {
		wc.send(part)
		time.Sleep(20 * time.Millisecond)
	}
	a = wc.read("POST")
	assert.Equal(t, 200, a.status)
	assert.Equal(t, "POST /split hello world", a.body)

	// An empty body.
	wc.send(wtPost("/empty", ""))
	a = wc.read("POST")
	assert.Equal(t, "POST /empty ", a.body)

	// A GET with a body: forwarded as its body, not read as a request.
	wc.send("GET /getbody?" + wtKey + " HTTP/1.1\r\nHost: gw\r\nContent-Length: " + strconv.Itoa(len(wtSmuggled)) + "\r\n\r\n" + wtSmuggled)
	a = wc.read("GET")
	assert.Equal(t, "GET /getbody "+wtSmuggled, a.body)

	// A body larger than any buffer, written while the gateway forwards it.
	big := strings.Repeat("0123456789abcdef", 16<<10)
	go func() { _, _ = io.WriteString(wc.c, wtPost("/big", big)) }()
	a = wc.read("POST")
	assert.Equal(t, 200, a.status)
	assert.True(t, a.body == "POST /big "+big, "the body arrives whole")

	seen = app.seen()
	require.Len(t, seen, 5)
	assert.Equal(t, "hello world", seen[1].body)
	assert.Equal(t, "", seen[2].body)
	assert.Equal(t, int64(0), seen[2].length)
	assert.Equal(t, wtSmuggled, seen[3].body)
	assert.Equal(t, "GET", seen[3].method)
	assert.Equal(t, int64(len(big)), seen[4].length)
	assert.True(t, seen[4].body == big, "the app got the body whole")
	app.assertNothingLike(t, "smuggled")
}

func TestGatewayWireChunkedBodies(t *testing.T) {
	addr, app := startWtGateway(t, Config{})
	wc := wtDial(t, addr)
	// Chunk extensions are ignored, trailers are not forwarded.
	wc.send("POST /chunks?" + wtKey + " HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\nX-Trailer: t\r\n\r\n")
	a := wc.read("POST")
	assert.Equal(t, 200, a.status)
	assert.Equal(t, "POST /chunks abcdefg", a.body)
	assert.False(t, a.close)

	// Split over writes, in the middle of sizes, data and line ends.
	for _, part := range []string{"POST /split?" + wtKey + " HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chu", "nked\r\n\r\n1", "0\r\n0123456", "789abcdef\r", "\n0\r\n", "\r\n"} {
		wc.send(part)
		time.Sleep(20 * time.Millisecond)
	}
	a = wc.read("POST")
	assert.Equal(t, "POST /split 0123456789abcdef", a.body)

	// The name of the coding is case-insensitive.
	wc.send("POST /upper?" + wtKey + " HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: Chunked\r\n\r\n" + wtChunk("up") + "0\r\n\r\n")
	a = wc.read("POST")
	assert.Equal(t, "POST /upper up", a.body)

	wc.send(wtGet("/after"))
	assert.Equal(t, "GET /after ", wc.read("GET").body)

	seen := app.seen()
	require.Len(t, seen, 4)
	for i, body := range []string{"abcdefg", "0123456789abcdef", "up"} {
		assert.Equal(t, body, seen[i].body)
		assert.Equal(t, []string{"chunked"}, seen[i].te, "forwarded chunked")
		assert.Equal(t, int64(-1), seen[i].length)
	}
	assert.Empty(t, seen[0].header["X-Trailer"])

	// A bad chunk size: the gateway's own 400, and the connection closes.
	before := len(app.seen())
	wc = wtDial(t, addr)
	wc.send("POST /badchunk?" + wtKey + " HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n")
	a = wc.read("POST")
	assert.Equal(t, 400, a.status)
	assert.True(t, a.close)
	wc.closed()
	wtAssertNoCompleteRequest(t, app.seen()[before:])
}

// wtAssertNoCompleteRequest asserts the app could read none of seen whole.
func wtAssertNoCompleteRequest(t *testing.T, seen []wtSeen) {
	t.Helper()
	for _, s := range seen {
		assert.Error(t, s.bodyErr, "the app received a whole request: %s %s %q", s.method, s.uri, s.body)
	}
}

func TestGatewayWireChunkedOverTheBound(t *testing.T) {
	addr, app := startWtGateway(t, Config{MaxBodyBytes: 16})
	wc := wtDial(t, addr)
	wc.send("POST /big?" + wtKey + " HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n" +
		wtChunk(strings.Repeat("x", 32)) + "0\r\n\r\n" + wtGet("/after"))
	a := wc.read("POST")
	assert.Equal(t, 413, a.status)
	assert.Equal(t, "Request Entity Too Large\n", a.body)
	assert.True(t, a.close)
	wc.closed()
	wtAssertNoCompleteRequest(t, app.seen())
}

// A client that stops in the middle of its body: the app never gets a
// request it can take for whole.
func TestGatewayWireClientCutsBody(t *testing.T) {
	addr, app := startWtGateway(t, Config{})
	wc := wtDial(t, addr)
	partial := strings.Repeat("p", 16<<10)
	wc.send("POST /cutbody?" + wtKey + " HTTP/1.1\r\nHost: gw\r\nContent-Type: text/plain\r\nContent-Length: " +
		strconv.Itoa(2*len(partial)) + "\r\n\r\n" + partial)
	time.Sleep(100 * time.Millisecond) // let the gateway forward what it has
	require.NoError(t, wc.c.(*net.TCPConn).CloseWrite())
	a := wc.read("POST")
	assert.Equal(t, 400, a.status)
	assert.Equal(t, "Bad Request\n", a.body)
	wc.closed()
	// The app may have started on it; it must see it cut.
	deadline := time.Now().Add(time.Second)
	for len(app.seen()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	wtAssertNoCompleteRequest(t, app.seen())
}

// A client that stalls in the middle of its head or body holds up nobody
// else, and can finish later.
func TestGatewayWireStalledClient(t *testing.T) {
	addr, app := startWtGateway(t, Config{})
	head := wtDial(t, addr)
	head.send("GET /stalled?" + wtKey + " HTTP/1.1\r\nHo")
	body := wtDial(t, addr)
	body.send("POST /stalledbody?" + wtKey + " HTTP/1.1\r\nHost: gw\r\nContent-Length: 10\r\n\r\nhello")
	gone := wtDial(t, addr)
	gone.send("GET /abandoned?" + wtKey + " HTTP/1.1\r\nHost: gw\r\n")
	time.Sleep(50 * time.Millisecond)

	start := time.Now()
	_, seen := wtServed(t, addr, app, wtGet("/meanwhile"))
	assert.Equal(t, "/meanwhile", seen.path)
	assert.Less(t, time.Since(start), time.Second)

	require.NoError(t, gone.c.Close())
	head.send("st: gw\r\n\r\n")
	a := head.read("GET")
	assert.Equal(t, "GET /stalled ", a.body)
	body.send("world")
	a = body.read("POST")
	assert.Equal(t, "POST /stalledbody helloworld", a.body)
	assert.Equal(t, []string{"GET /meanwhile?" + wtKey, "GET /stalled?" + wtKey, "POST /stalledbody?" + wtKey}, app.requests())
}
