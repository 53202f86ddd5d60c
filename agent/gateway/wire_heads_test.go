package gateway

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGatewayWireMalformedHeaders(t *testing.T) {
	addr, app := startWtGateway(t, Config{})
	line := "GET /h?" + wtKey + " HTTP/1.1\r\n"
	for _, c := range []struct{ name, head, body string }{
		{"no colon", "Host: gw\r\nNoColon\r\n", "400 Bad Request"},
		{"space before the colon of Host", "Host : gw\r\n", "400 Bad Request: missing required Host header"},
		{"space before the colon", "Host: gw\r\nX-A : a\r\n", "400 Bad Request: invalid header name"},
		{"space in a name", "Host: gw\r\nX A: a\r\n", "400 Bad Request: invalid header name"},
		{"empty name", "Host: gw\r\n: a\r\n", "400 Bad Request"},
		{"non-token name", "Host: gw\r\nX(A): a\r\n", "400 Bad Request"},
		{"NUL in a value", "Host: gw\r\nX-A: a\x00b\r\n", "400 Bad Request"},
		{"bare CR in a value", "Host: gw\r\nX-A: a\rb\r\n", "400 Bad Request"},
		{"DEL in a value", "Host: gw\r\nX-A: a\x7fb\r\n", "400 Bad Request"},
		{"fold on the first line", " folded\r\nHost: gw\r\n", "400 Bad Request"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := wtRefused(t, addr, app, line+c.head+"\r\n", 400)
			assert.Equal(t, c.body, a.body)
		})
	}
}

// What net/http accepts that a strict parser would not: the request is
// forwarded, rebuilt from what was understood.
func TestGatewayWireLenientHeads(t *testing.T) {
	addr, app := startWtGateway(t, Config{})
	// An obs-fold continuation line is joined to the value with a space
	// (RFC 9112 §5.2 lets a server reject it instead).
	_, seen := wtServed(t, addr, app, "GET /fold?"+wtKey+" HTTP/1.1\r\nHost: gw\r\nX-A: a\r\n folded\r\n\tagain\r\nX-B: b\r\n\r\n")
	assert.Equal(t, []string{"a folded again"}, seen.header["X-A"])
	assert.Equal(t, []string{"b"}, seen.header["X-B"])

	// Bare LF ends lines, throughout or mixed with CRLF.
	_, seen = wtServed(t, addr, app, "GET /lf?"+wtKey+" HTTP/1.1\nHost: gw\nX-A: a\n\n")
	assert.Equal(t, "/lf", seen.path)
	assert.Equal(t, []string{"a"}, seen.header["X-A"])
	_, seen = wtServed(t, addr, app, "GET /mixed?"+wtKey+" HTTP/1.1\r\nHost: gw\r\nX-A: a\nX-B: b\r\n\r\n")
	assert.Equal(t, []string{"a"}, seen.header["X-A"])
	assert.Equal(t, []string{"b"}, seen.header["X-B"], "a header hidden behind a bare LF is a header")

	// A bare-LF head with a body, then a CRLF one on the same connection.
	wc := wtDial(t, addr)
	wc.send("POST /lfbody?" + wtKey + " HTTP/1.1\nHost: gw\nContent-Length: 5\n\nhello" + wtGet("/next"))
	assert.Equal(t, "POST /lfbody hello", wc.read("POST").body)
	assert.Equal(t, "GET /next ", wc.read("GET").body)

}

// The headers the app receives: the client's, canonicalised, trimmed and
// merged, without hop-by-hop ones, with X-Forwarded-For appended to.
func TestGatewayWireForwardedHeaders(t *testing.T) {
	addr, app := startWtGateway(t, Config{})
	_, seen := wtServed(t, addr, app, "GET /h?"+wtKey+" HTTP/1.1\r\nHost: gw\r\n"+
		"x-lower: a\r\n"+
		"x-multi: 1\r\nX-Multi: 2\r\n"+
		"X-Pad:   padded \t \r\n"+
		"X-Tab:\tt\r\n"+
		"X-Empty:\r\n"+
		"X-Inner: a  b\r\n"+
		"User-Agent: raw\r\n"+
		"X-Forwarded-For: 10.0.0.1\r\n"+
		"Pragma: no-cache\r\n"+
		"TE: trailers\r\nKeep-Alive: 5\r\nProxy-Authorization: Basic eA==\r\nUpgrade: h2c\r\n"+
		"Connection: X-Private\r\nX-Private: p\r\n\r\n")
	h := seen.header.Clone()
	require.Len(t, h["X-3scale-Proxy-Secret-Token"], 1)
	delete(h, "X-3scale-Proxy-Secret-Token")
	assert.Equal(t, http.Header{
		"X-Lower":         {"a"},
		"X-Multi":         {"1", "2"},
		"X-Pad":           {"padded"},
		"X-Tab":           {"t"},
		"X-Empty":         {""},
		"X-Inner":         {"a  b"},
		"User-Agent":      {"raw"},
		"X-Forwarded-For": {"10.0.0.1, 127.0.0.1"},
		"Pragma":          {"no-cache"},
		"Cache-Control":   {"no-cache"}, // net/http adds it for Pragma: no-cache
	}, h)
	assert.Equal(t, "HTTP/1.1", seen.proto)
	assert.Equal(t, strings.TrimPrefix(app.url, "http://"), seen.host, "the app's own host, not the client's")
}

func TestGatewayWireHeadSizes(t *testing.T) {
	addr, app := startWtGateway(t, Config{})
	// A head of 48 KiB in one header value, and one of many header lines.
	long := strings.Repeat("v", 48<<10)
	_, seen := wtServed(t, addr, app, "GET /long?"+wtKey+" HTTP/1.1\r\nHost: gw\r\nX-Long: "+long+"\r\n\r\n")
	assert.True(t, seen.header.Get("X-Long") == long, "the long value arrives whole")
	var many strings.Builder
	for i := range 200 {
		fmt.Fprintf(&many, "X-H%d: %d\r\n", i, i)
	}
	_, seen = wtServed(t, addr, app, "GET /many?"+wtKey+" HTTP/1.1\r\nHost: gw\r\n"+many.String()+"\r\n")
	for i := range 200 {
		assert.Equal(t, []string{strconv.Itoa(i)}, seen.header[fmt.Sprintf("X-H%d", i)])
	}
	// A long query.
	q := strings.Repeat("q", 32<<10)
	_, seen = wtServed(t, addr, app, "GET /q?"+wtKey+"&q="+q+" HTTP/1.1\r\nHost: gw\r\n\r\n")
	assert.True(t, seen.rawQuery == wtKey+"&q="+q, "the long query arrives whole")

	// Too large a head: 431, closed, nothing forwarded. The bound of the
	// gateway's server is http1.MaxHeaderBytes (64 KiB); the
	// test gateway's is httptest's default, 1 MiB: 2 MiB exceeds both.
	wc := wtDial(t, addr)
	head := "GET /huge?" + wtKey + " HTTP/1.1\r\nHost: gw\r\nX-Huge: " + strings.Repeat("h", 2<<20) + "\r\n\r\n"
	wrote := make(chan struct{})
	go func() { // the gateway stops reading: write while reading its answer
		defer close(wrote)
		_, _ = io.WriteString(wc.c, head)
	}()
	resp, err := http.ReadResponse(wc.br, nil)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body) // ended by the close; a reset may cut it
	assert.Equal(t, http.StatusRequestHeaderFieldsTooLarge, resp.StatusCode, "answer: %q", b)
	assert.True(t, resp.Close)
	_ = wc.c.Close()
	<-wrote
	assert.Equal(t, []string{"GET /long?" + wtKey, "GET /many?" + wtKey, "GET /q?" + wtKey + "&q=" + q}, app.requests())
}

func TestGatewayWireHost(t *testing.T) {
	addr, app := startWtGateway(t, Config{})
	line := "GET /host?" + wtKey + " HTTP/1.1\r\n"
	a := wtRefused(t, addr, app, line+"\r\n", 400)
	assert.Equal(t, "400 Bad Request: missing required Host header", a.body)
	a = wtRefused(t, addr, app, line+"Host: gw\r\nHost: other\r\n\r\n", 400)
	assert.Equal(t, "400 Bad Request", a.body)
	a = wtRefused(t, addr, app, line+"Host: a b\r\n\r\n", 400)
	assert.Equal(t, "400 Bad Request: malformed Host header", a.body)
	a = wtRefused(t, addr, app, line+"Host: a/b\r\n\r\n", 400)
	assert.Equal(t, "400 Bad Request: malformed Host header", a.body)

	// An empty Host is valid (RFC 9112 §3.2); HTTP/1.0 needs none. The app
	// gets its own host either way.
	_, seen := wtServed(t, addr, app, line+"Host:\r\n\r\n")
	assert.Equal(t, strings.TrimPrefix(app.url, "http://"), seen.host)
	_, seen = wtServed(t, addr, app, "GET /host?"+wtKey+" HTTP/1.0\r\n\r\n")
	assert.Equal(t, strings.TrimPrefix(app.url, "http://"), seen.host)
}

// Empty lines before a request line.
func TestGatewayWireEmptyLines(t *testing.T) {
	addr, app := startWtGateway(t, Config{})
	// After a POST, a CRLF some clients add after the body is skipped.
	wc := wtDial(t, addr)
	wc.send(wtPost("/p", "hello") + "\r\n" + wtGet("/afterpost"))
	assert.Equal(t, "POST /p hello", wc.read("POST").body)
	a := wc.read("GET")
	assert.Equal(t, 200, a.status)
	assert.Equal(t, "GET /afterpost ", a.body)

	// Anywhere else net/http answers 400 and closes, where RFC 9112 §2.2 says
	// a server SHOULD ignore at least one empty line.
	wc = wtDial(t, addr)
	wc.send(wtGet("/g") + "\r\n" + wtGet("/afterget"))
	assert.Equal(t, "GET /g ", wc.read("GET").body)
	a = wc.read("GET")
	assert.Equal(t, 400, a.status)
	assert.True(t, a.close)
	wc.closed()
	wtRefused(t, addr, app, "\r\n"+wtGet("/first"), 400)
	assert.Equal(t, []string{"POST /p?" + wtKey, "GET /afterpost?" + wtKey, "GET /g?" + wtKey}, app.requests())
}

func TestGatewayWireProtocolVersions(t *testing.T) {
	addr, app := startWtGateway(t, Config{})
	a := wtRefused(t, addr, app, "GET /v?"+wtKey+" HTTP/2.0\r\nHost: gw\r\n\r\n", 505)
	assert.Equal(t, "505 HTTP Version Not Supported: unsupported protocol version", a.body)
	for _, bad := range []string{
		"GET /v?" + wtKey + "\r\n\r\n", // HTTP/0.9
		"GET /v?" + wtKey + " http/1.1\r\nHost: gw\r\n\r\n",
		"GET /v?" + wtKey + " HTTP/1.01\r\nHost: gw\r\n\r\n",
		"GET /v?" + wtKey + " HTTP/1.1 \r\nHost: gw\r\n\r\n",
		"GET  /v?" + wtKey + " HTTP/1.1\r\nHost: gw\r\n\r\n",
		"G(T /v?" + wtKey + " HTTP/1.1\r\nHost: gw\r\n\r\n",
	} {
		wtRefused(t, addr, app, bad, 400)
	}
	// The HTTP/2 connection preface reaches the gateway's checks as a
	// request (net/http leaves h2c to the handler), then the connection ends.
	a = wtRefused(t, addr, app, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 403)
	assert.Equal(t, "Authentication parameters missing\n", a.body)
	// A later HTTP/1 minor version is served as HTTP/1.1 (net/http takes any
	// HTTP/1.x; RFC 9112 would have a server answer as the highest 1.x it
	// speaks, which it does).
	wc := wtDial(t, addr)
	wc.send("GET /v?" + wtKey + " HTTP/1.2\r\nHost: gw\r\n\r\n" + wtGet("/v2"))
	a = wc.read("GET")
	assert.Equal(t, 200, a.status)
	assert.Equal(t, "HTTP/1.1", a.proto)
	assert.Equal(t, "GET /v2 ", wc.read("GET").body)
	assert.Equal(t, []string{"GET /v?" + wtKey, "GET /v2?" + wtKey}, app.requests())
}
