package gateway

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// The gateway's contract on the wire: what a client that writes raw bytes
// gets back, and exactly what the app behind the gateway receives. These
// tests hold whatever HTTP/1.1 server startTestGateway puts in front of the
// gateway to net/http's rules, so that it never disagrees with the client or
// the app about where a request or an answer ends (request smuggling,
// desync). Where net/http's rule is arguable for a proxy, the test says so.

// wtSeen is one request as the app received it.
type wtSeen struct {
	method, uri, path, rawQuery, proto string
	host                               string
	header                             http.Header
	body                               string
	bodyErr                            error // reading the body failed: the request was cut
	length                             int64
	te                                 []string
}

// wtApp is an app that records every request it receives and answers
// according to the path.
type wtApp struct {
	url string
	mu  sync.Mutex
	got []wtSeen
}

func newWtApp(t *testing.T) *wtApp {
	a := &wtApp{}
	s := httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(s.Close)
	a.url = s.URL
	return a
}

func (a *wtApp) serve(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	a.mu.Lock()
	a.got = append(a.got, wtSeen{r.Method, r.RequestURI, r.URL.Path, r.URL.RawQuery, r.Proto, r.Host,
		r.Header.Clone(), string(b), err, r.ContentLength, r.TransferEncoding})
	a.mu.Unlock()
	switch r.URL.Path {
	case "/chunked": // streamed: no length, flushed in parts
		for _, part := range []string{"one,", "two,", "three"} {
			_, _ = io.WriteString(w, part)
			w.(http.Flusher).Flush()
		}
	case "/204":
		w.WriteHeader(http.StatusNoContent)
	case "/304":
		w.Header().Set("ETag", `"v1"`)
		w.WriteHeader(http.StatusNotModified)
	case "/sized": // 42 bytes, declared; HEAD gets the length and no body
		w.Header().Set("Content-Length", "42")
		if r.Method != http.MethodHead {
			_, _ = io.WriteString(w, strings.Repeat("s", 42))
		}
	case "/cut", "/cutchunked": // the app dies in the middle of its answer
		c, bw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		if r.URL.Path == "/cut" {
			_, _ = bw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
		} else {
			_, _ = bw.WriteString("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\n")
		}
		_ = bw.Flush()
		_ = c.Close()
	default:
		_, _ = io.WriteString(w, r.Method+" "+r.URL.Path+" "+string(b))
	}
}

// seen returns the requests the app received so far.
func (a *wtApp) seen() []wtSeen {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]wtSeen(nil), a.got...)
}

// requests returns "METHOD request-uri" for each request the app received.
func (a *wtApp) requests() []string {
	var rs []string
	for _, s := range a.seen() {
		rs = append(rs, s.method+" "+s.uri)
	}
	return rs
}

// assertNothingLike asserts no request the app received has a request target
// containing s.
func (a *wtApp) assertNothingLike(t *testing.T, s string) {
	t.Helper()
	for _, r := range a.requests() {
		assert.NotContains(t, r, s, "the app received a request it should never have")
	}
}

const wtKey = "user_key=premium-key"

// startWtGateway starts an app and the gateway in front of it, for the
// premium plan (no limits), with GET /, POST / and HEAD / mapping rules.
func startWtGateway(t *testing.T, cfg Config) (string, *wtApp) {
	t.Helper()
	f := newGatewayFixture(t, backendUserKey)
	for _, method := range []string{"POST", "HEAD"} {
		require.NoError(t, f.tx.Create(&composition.MappingRule{OwnerType: composition.OwnerService, OwnerID: f.svc.ID,
			MetricID: f.hits.ID, HTTPMethod: method, Pattern: "/", Delta: 1}))
	}
	app := newWtApp(t)
	_, gw, _ := startTestGateway(t, f, app.url, f.placement(f.premium), cfg)
	return strings.TrimPrefix(gw, "http://"), app
}

// wtConn is a raw client connection to the gateway.
type wtConn struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func wtDial(t *testing.T, addr string) *wtConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	require.NoError(t, err)
	require.NoError(t, c.SetDeadline(time.Now().Add(5*time.Second)))
	t.Cleanup(func() { _ = c.Close() })
	return &wtConn{t: t, c: c, br: bufio.NewReader(c)}
}

// send writes s in one write.
func (wc *wtConn) send(s string) {
	wc.t.Helper()
	_, err := io.WriteString(wc.c, s)
	require.NoError(wc.t, err)
}

// wtAnswer is an answer read off the connection.
type wtAnswer struct {
	status int
	proto  string
	header http.Header
	length int64
	te     []string
	close  bool // the answer says the connection closes after it
	body   string
}

// read reads one whole answer to a request of the given method.
func (wc *wtConn) read(method string) wtAnswer {
	wc.t.Helper()
	resp, err := http.ReadResponse(wc.br, &http.Request{Method: method})
	require.NoError(wc.t, err, "reading an answer's head")
	b, err := io.ReadAll(resp.Body)
	require.NoError(wc.t, err, "reading an answer's body")
	resp.Body.Close()
	return wtAnswer{resp.StatusCode, resp.Proto, resp.Header, resp.ContentLength, resp.TransferEncoding, resp.Close, string(b)}
}

// closed asserts the gateway closed the connection: nothing more to read
// but the end.
func (wc *wtConn) closed() {
	wc.t.Helper()
	b, err := wc.br.ReadByte()
	require.Error(wc.t, err, "the connection should have been closed, got byte %q", b)
	assert.True(wc.t, errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET), "want EOF, got %v", err)
}

// wtGet is a well-formed GET of path with the key.
func wtGet(path string) string {
	return "GET " + path + "?" + wtKey + " HTTP/1.1\r\nHost: gw\r\n\r\n"
}

// wtRefused sends raw on a new connection and asserts the gateway answers
// status, closes the connection and forwards nothing; it returns the answer.
func wtRefused(t *testing.T, addr string, app *wtApp, raw string, status int) wtAnswer {
	t.Helper()
	before := len(app.seen())
	wc := wtDial(t, addr)
	wc.send(raw)
	a := wc.read("GET")
	assert.Equal(t, status, a.status, "answer: %q", a.body)
	assert.True(t, a.close, "the answer says the connection closes")
	wc.closed()
	assert.Len(t, app.seen(), before, "nothing reaches the app")
	return a
}

// wtServed sends raw, one request, on a new connection and returns the
// answer and what the app received for it.
func wtServed(t *testing.T, addr string, app *wtApp, raw string) (wtAnswer, wtSeen) {
	t.Helper()
	before := len(app.seen())
	wc := wtDial(t, addr)
	wc.send(raw)
	a := wc.read("GET")
	require.Equal(t, http.StatusOK, a.status, "answer: %q", a.body)
	seen := app.seen()
	require.Len(t, seen, before+1, "the app received the request, once")
	return a, seen[before]
}

// wtPost is a well-formed POST of body to path with the key.
func wtPost(path, body string) string {
	return "POST " + path + "?" + wtKey + " HTTP/1.1\r\nHost: gw\r\nContent-Type: text/plain\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\n\r\n" + body
}

// wtChunk encodes s as one chunk.
func wtChunk(s string) string { return fmt.Sprintf("%x\r\n%s\r\n", len(s), s) }

// wtSmuggled is a whole request with the key, hidden in bodies: it must only
// ever reach the app as body bytes, never as a request.
const wtSmuggled = "GET /smuggled?" + wtKey + " HTTP/1.1\r\nHost: gw\r\n\r\n"

func TestGatewayWirePipelining(t *testing.T) {
	addr, app := startWtGateway(t, Config{})
	wc := wtDial(t, addr)
	wc.send(wtGet("/one") + wtGet("/two"))
	one, two := wc.read("GET"), wc.read("GET")
	assert.Equal(t, wtAnswer{200, "HTTP/1.1", one.header, 9, nil, false, "GET /one "}, one)
	assert.Equal(t, wtAnswer{200, "HTTP/1.1", two.header, 9, nil, false, "GET /two "}, two)
	assert.Equal(t, []string{"GET /one?" + wtKey, "GET /two?" + wtKey}, app.requests())

	wc.send(wtGet("/three"))
	three := wc.read("GET")
	assert.Equal(t, 200, three.status)
	assert.Equal(t, "GET /three ", three.body, "the connection is kept alive")

	// A pipeline mixing a body, a refusal and a HEAD: each answered in turn.
	wc.send(wtPost("/four", "hello") +
		"GET /five HTTP/1.1\r\nHost: gw\r\n\r\n" +
		"HEAD /six?" + wtKey + " HTTP/1.1\r\nHost: gw\r\n\r\n" +
		wtGet("/seven"))
	four := wc.read("POST")
	assert.Equal(t, 200, four.status)
	assert.Equal(t, "POST /four hello", four.body)
	five := wc.read("GET")
	assert.Equal(t, 403, five.status)
	assert.Equal(t, "Authentication parameters missing\n", five.body)
	six := wc.read("HEAD")
	assert.Equal(t, 200, six.status)
	assert.Equal(t, int64(len("HEAD /six ")), six.length, "the length of the answer to a GET")
	assert.Empty(t, six.body)
	seven := wc.read("GET")
	assert.Equal(t, 200, seven.status)
	assert.Equal(t, "GET /seven ", seven.body)
	require.Equal(t, []string{"GET /one?" + wtKey, "GET /two?" + wtKey, "GET /three?" + wtKey,
		"POST /four?" + wtKey, "HEAD /six?" + wtKey, "GET /seven?" + wtKey}, app.requests())
	assert.Equal(t, "hello", app.seen()[3].body)
}

// Answers the gateway makes itself leave the connection usable, and a body
// it refused is skipped, never read as the next request.
func TestGatewayWireKeepAliveAfterRefusals(t *testing.T) {
	addr, app := startWtGateway(t, Config{MaxBodyBytes: 64})
	steps := []struct {
		name, raw string
		status    int
		body      string
	}{
		{"no key", "GET /a HTTP/1.1\r\nHost: gw\r\n\r\n", 403, "Authentication parameters missing\n"},
		{"bad key", "GET /a?user_key=nope HTTP/1.1\r\nHost: gw\r\n\r\n", 403, "Authentication failed\n"},
		{"no mapping rule", "DELETE /a?" + wtKey + " HTTP/1.1\r\nHost: gw\r\n\r\n", 404, "No Mapping Rule matched\n"},
		{"no key, a body that is a request", "POST /a HTTP/1.1\r\nHost: gw\r\nContent-Type: text/plain\r\nContent-Length: " +
			strconv.Itoa(len(wtSmuggled)) + "\r\n\r\n" + wtSmuggled, 403, "Authentication parameters missing\n"},
		{"no key, a chunked body that is a request", "POST /a HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n" +
			wtChunk(wtSmuggled) + "0\r\n\r\n", 403, "Authentication parameters missing\n"},
		{"body over the bound", wtPost("/a", wtSmuggled+wtSmuggled), 413, "Request body too large\n"},
	}
	wc := wtDial(t, addr)
	for _, s := range steps {
		wc.send(s.raw)
		a := wc.read("GET")
		assert.Equal(t, s.status, a.status, s.name)
		assert.Equal(t, s.body, a.body, s.name)
		assert.False(t, a.close, s.name)
	}
	wc.send(wtGet("/ok"))
	ok := wc.read("GET")
	assert.Equal(t, 200, ok.status)
	assert.Equal(t, "GET /ok ", ok.body)
	assert.Equal(t, []string{"GET /ok?" + wtKey}, app.requests())

	// The same, pipelined in one write.
	var all strings.Builder
	for _, s := range steps {
		all.WriteString(s.raw)
	}
	all.WriteString(wtGet("/ok2"))
	wc.send(all.String())
	for _, s := range steps {
		a := wc.read("GET")
		assert.Equal(t, s.status, a.status, s.name)
		assert.Equal(t, s.body, a.body, s.name)
	}
	assert.Equal(t, "GET /ok2 ", wc.read("GET").body)
	assert.Equal(t, []string{"GET /ok?" + wtKey, "GET /ok2?" + wtKey}, app.requests())

	// A refused request declaring a large body it has not sent: the gateway
	// closes rather than wait for and read it (net/http reads at most 256 KiB
	// of a body the handler left).
	addr2, app2 := startWtGateway(t, Config{})
	wc = wtDial(t, addr2)
	wc.send("POST /a HTTP/1.1\r\nHost: gw\r\nContent-Type: text/plain\r\nContent-Length: 1048576\r\n\r\n")
	a := wc.read("POST")
	assert.Equal(t, 403, a.status)
	assert.True(t, a.close)
	wc.closed()
	assert.Empty(t, app2.seen())
	app.assertNothingLike(t, "smuggled")
}

func TestGatewayWireConnectionClose(t *testing.T) {
	addr, app := startWtGateway(t, Config{})
	for _, c := range []string{"close", "Close", "keep-alive, close"} {
		wc := wtDial(t, addr)
		wc.send("GET /close?" + wtKey + " HTTP/1.1\r\nHost: gw\r\nConnection: " + c + "\r\n\r\n" + wtGet("/never"))
		a := wc.read("GET")
		assert.Equal(t, 200, a.status, c)
		assert.Equal(t, "GET /close ", a.body, c)
		assert.True(t, a.close, "the answer says Connection: close: %s", c)
		wc.closed()
	}
	// A refusal too.
	wc := wtDial(t, addr)
	wc.send("GET /close HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n" + wtGet("/never"))
	a := wc.read("GET")
	assert.Equal(t, 403, a.status)
	assert.True(t, a.close)
	wc.closed()
	assert.Equal(t, []string{"GET /close?" + wtKey, "GET /close?" + wtKey, "GET /close?" + wtKey}, app.requests(),
		"what follows a request closing the connection is never read")
}

func TestGatewayWireHTTP10(t *testing.T) {
	addr, app := startWtGateway(t, Config{})
	// Without keep-alive: answered, then closed.
	wc := wtDial(t, addr)
	wc.send("GET /ten?" + wtKey + " HTTP/1.0\r\n\r\n" + wtGet("/never"))
	a := wc.read("GET")
	assert.Equal(t, 200, a.status)
	assert.Equal(t, "HTTP/1.0", a.proto)
	assert.Equal(t, "GET /ten ", a.body)
	wc.closed()

	// With keep-alive: the answer says so and the connection serves another.
	wc = wtDial(t, addr)
	wc.send("GET /ka?" + wtKey + " HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
	a = wc.read("GET")
	assert.Equal(t, 200, a.status)
	assert.Equal(t, "HTTP/1.0", a.proto)
	assert.Equal(t, []string{"keep-alive"}, a.header["Connection"])
	assert.Equal(t, int64(len("GET /ka ")), a.length)
	wc.send("POST /ka2?" + wtKey + " HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nhi")
	a = wc.read("POST")
	assert.Equal(t, "POST /ka2 hi", a.body)
	assert.False(t, a.close)

	// A streamed answer cannot be chunked for HTTP/1.0: it ends with the
	// connection, even one asked to be kept.
	wc.send("GET /chunked?" + wtKey + " HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
	a = wc.read("GET")
	assert.Equal(t, 200, a.status)
	assert.Nil(t, a.te)
	assert.Equal(t, int64(-1), a.length)
	assert.Equal(t, "one,two,three", a.body)
	wc.closed()

	assert.Equal(t, []string{"GET /ten?" + wtKey, "GET /ka?" + wtKey, "POST /ka2?" + wtKey, "GET /chunked?" + wtKey}, app.requests())
	for _, s := range app.seen() {
		assert.Equal(t, "HTTP/1.1", s.proto, "the gateway speaks HTTP/1.1 to the app")
	}
}

func TestGatewayWireExpectContinue(t *testing.T) {
	addr, app := startWtGateway(t, Config{})
	wc := wtDial(t, addr)
	wc.send("POST /expect?" + wtKey + " HTTP/1.1\r\nHost: gw\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
	interim := wc.read("POST")
	assert.Equal(t, 100, interim.status)
	assert.Empty(t, interim.body)
	wc.send("hello")
	a := wc.read("POST")
	assert.Equal(t, 200, a.status)
	assert.Equal(t, "POST /expect hello", a.body)
	assert.False(t, a.close)
	wc.send(wtGet("/after"))
	assert.Equal(t, "GET /after ", wc.read("GET").body)
	seen := app.seen()
	require.Len(t, seen, 2)
	assert.Equal(t, "hello", seen[0].body)
	assert.Empty(t, seen[0].header["Expect"], "the gateway answered the expectation itself")

	// Refused before the body was asked for: no 100, and the connection
	// closes, since what the client sends next may be the body or a request.
	wc = wtDial(t, addr)
	wc.send("POST /expect HTTP/1.1\r\nHost: gw\r\nContent-Type: text/plain\r\nContent-Length: " + strconv.Itoa(len(wtSmuggled)) + "\r\nExpect: 100-continue\r\n\r\n")
	a = wc.read("POST")
	assert.Equal(t, 403, a.status)
	assert.True(t, a.close)
	_, _ = io.WriteString(wc.c, wtSmuggled) // the body, sent anyway: the write may race the close
	wc.closed()

	// Any other expectation: 417.
	a = wtRefused(t, addr, app, "GET /expect?"+wtKey+" HTTP/1.1\r\nHost: gw\r\nExpect: fancy\r\n\r\n", 417)
	assert.Empty(t, a.body)
	assert.Len(t, app.seen(), 2)
	app.assertNothingLike(t, "smuggled")
}
