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

// A request with both a Content-Length and Transfer-Encoding: chunked is
// read as chunked (the Content-Length is dropped), whichever comes first.
func TestGatewayWireContentLengthAndChunked(t *testing.T) {
	addr, app := startWtGateway(t, Config{})

	// TE.CL: a reader trusting the Content-Length would take the chunk size
	// line as the body and the chunk's data, a request, as the next one.
	size := fmt.Sprintf("%x\r\n", len(wtSmuggled))
	for _, order := range []string{
		"Content-Length: " + strconv.Itoa(len(size)) + "\r\nTransfer-Encoding: chunked\r\n",
		"Transfer-Encoding: chunked\r\nContent-Length: " + strconv.Itoa(len(size)) + "\r\n",
	} {
		before := len(app.seen())
		wc := wtDial(t, addr)
		wc.send("POST /te-cl?" + wtKey + " HTTP/1.1\r\nHost: gw\r\n" + order + "\r\n" + wtChunk(wtSmuggled) + "0\r\n\r\n" + wtGet("/after"))
		a := wc.read("POST")
		assert.Equal(t, 200, a.status)
		assert.Equal(t, "POST /te-cl "+wtSmuggled, a.body)
		// RFC 9112 §6.1 says to close the connection after such a request;
		// net/http keeps it open.
		assert.False(t, a.close)
		assert.Equal(t, "GET /after ", wc.read("GET").body)
		seen := app.seen()[before:]
		require.Len(t, seen, 2)
		assert.Equal(t, "POST /te-cl?"+wtKey, seen[0].method+" "+seen[0].uri)
		assert.Equal(t, wtSmuggled, seen[0].body)
		assert.Equal(t, []string{"chunked"}, seen[0].te)
		assert.Equal(t, int64(-1), seen[0].length)
		assert.Empty(t, seen[0].header["Content-Length"], "the client's Content-Length is dropped")
		assert.Equal(t, "GET /after?"+wtKey, seen[1].method+" "+seen[1].uri)
	}

	// CL.TE: a reader trusting the Content-Length would take everything as
	// the body; read as chunked, the body is empty and what follows the last
	// chunk is a request of its own, checked like any other (here: no key).
	// net/http keeps the connection for it, where RFC 9112 §6.1 says to close.
	tail := "0\r\n\r\n" + "GET /smuggled HTTP/1.1\r\nHost: gw\r\n\r\n"
	before := len(app.seen())
	wc := wtDial(t, addr)
	wc.send("POST /cl-te?" + wtKey + " HTTP/1.1\r\nHost: gw\r\nContent-Length: " + strconv.Itoa(len(tail)) +
		"\r\nTransfer-Encoding: chunked\r\n\r\n" + tail)
	a := wc.read("POST")
	assert.Equal(t, 200, a.status)
	assert.Equal(t, "POST /cl-te ", a.body)
	next := wc.read("GET")
	assert.Equal(t, 403, next.status)
	assert.Equal(t, "Authentication parameters missing\n", next.body)
	seen := app.seen()[before:]
	require.Len(t, seen, 1)
	assert.Equal(t, "POST /cl-te?"+wtKey, seen[0].method+" "+seen[0].uri)
	assert.Equal(t, "", seen[0].body)
	assert.Equal(t, []string{"chunked"}, seen[0].te)
	app.assertNothingLike(t, "smuggled")
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

	// Accepted: the same length repeated (net/http keeps one), and spaces
	// around the value.
	for _, cl := range []string{"Content-Length: 5\r\nContent-Length: 5\r\n", "Content-Length:  5 \r\n", "Content-Length:\t5\r\n"} {
		a, seen := wtServed(t, addr, app, head+cl+"\r\nhello")
		assert.Equal(t, "POST /cl hello", a.body, cl)
		assert.Equal(t, []string{"5"}, seen.header["Content-Length"], cl)
	}
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

// net/http ignores Transfer-Encoding on HTTP/1.0 requests (golang.org/issue/12785).
func TestGatewayWireHTTP10TransferEncoding(t *testing.T) {
	addr, app := startWtGateway(t, Config{})
	// With a Content-Length, the length frames the body.
	_, seen := wtServed(t, addr, app, "POST /te10?"+wtKey+" HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc")
	assert.Equal(t, "abc", seen.body)
	assert.Nil(t, seen.te)

	// Without, the body is empty and the chunks are read as the next request
	// on a kept-alive connection: a chunk size is never a request line, so
	// that is a 400 and the end of the connection, never a smuggled request.
	before := len(app.seen())
	wc := wtDial(t, addr)
	wc.send("POST /te10?" + wtKey + " HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n" + wtChunk(wtSmuggled) + "0\r\n\r\n")
	a := wc.read("POST")
	assert.Equal(t, 200, a.status)
	assert.Equal(t, "POST /te10 ", a.body)
	a = wc.read("GET")
	assert.Equal(t, 400, a.status)
	wc.closed()
	seen2 := app.seen()[before:]
	require.Len(t, seen2, 1)
	assert.Equal(t, "", seen2[0].body)
	app.assertNothingLike(t, "smuggled")
}

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

	// A lower-case method is forwarded as sent; the GET rule matches it
	// (mapping rules compare methods case-insensitively, where HTTP methods
	// are case-sensitive).
	_, seen = wtServed(t, addr, app, "get /lower?"+wtKey+" HTTP/1.1\r\nHost: gw\r\n\r\n")
	assert.Equal(t, "get", seen.method)
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

func TestGatewayWireRequestTargets(t *testing.T) {
	addr, app := startWtGateway(t, Config{})
	// Absolute-form: the path and query are forwarded, to the app's host.
	_, seen := wtServed(t, addr, app, "GET http://example.com/x?"+wtKey+" HTTP/1.1\r\nHost: gw\r\n\r\n")
	assert.Equal(t, "/x?"+wtKey, seen.uri)
	assert.Equal(t, strings.TrimPrefix(app.url, "http://"), seen.host)

	// Asterisk-form: OPTIONS * is answered by net/http itself, never by the
	// gateway; the connection goes on.
	wc := wtDial(t, addr)
	wc.send("OPTIONS * HTTP/1.1\r\nHost: gw\r\n\r\n" + wtGet("/after"))
	a := wc.read("OPTIONS")
	assert.Equal(t, 200, a.status)
	assert.Equal(t, int64(0), a.length)
	assert.Equal(t, "GET /after ", wc.read("GET").body)

	// With another method, * is a path the gateway checks like any other.
	wc.send("GET * HTTP/1.1\r\nHost: gw\r\n\r\n")
	a = wc.read("GET")
	assert.Equal(t, 403, a.status)
	assert.Equal(t, "Authentication parameters missing\n", a.body)
	wc.send("DELETE * HTTP/1.1\r\nHost: gw\r\n\r\n")
	assert.Equal(t, 403, wc.read("DELETE").status)
	assert.Len(t, app.seen(), 2)

	// An asterisk with a query, and a relative path: 400.
	wtRefused(t, addr, app, "GET *?"+wtKey+" HTTP/1.1\r\nHost: gw\r\n\r\n", 400)
	wtRefused(t, addr, app, "GET x?"+wtKey+" HTTP/1.1\r\nHost: gw\r\n\r\n", 400)

	// Absolute-form with any scheme is accepted by net/http; authority-form
	// outside CONNECT parses as a scheme and an opaque part: no path, so no
	// mapping rule matches.
	_, seen = wtServed(t, addr, app, "GET ftp://user@h/y?"+wtKey+" HTTP/1.1\r\nHost: gw\r\n\r\n")
	assert.Equal(t, "/y?"+wtKey, seen.uri)
	_, seen = wtServed(t, addr, app, "GET x:/z?"+wtKey+" HTTP/1.1\r\nHost: gw\r\n\r\n")
	assert.Equal(t, "/z?"+wtKey, seen.uri)
	wc = wtDial(t, addr)
	wc.send("GET gw:80?" + wtKey + " HTTP/1.1\r\nHost: gw\r\n\r\n")
	a = wc.read("GET")
	assert.Equal(t, 404, a.status)
	assert.Equal(t, "No Mapping Rule matched\n", a.body)

	// CONNECT gets no tunnel: the gateway's checks answer it.
	wc = wtDial(t, addr)
	wc.send("CONNECT gw:443 HTTP/1.1\r\nHost: gw:443\r\n\r\n")
	a = wc.read("CONNECT")
	assert.Equal(t, 403, a.status)
	assert.Equal(t, "Authentication parameters missing\n", a.body)
	assert.Equal(t, []string{"GET /x?" + wtKey, "GET /after?" + wtKey, "GET /y?" + wtKey, "GET /z?" + wtKey}, app.requests())
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

// Paths are forwarded as sent: the gateway neither cleans them nor decodes
// them; what net/http cannot parse is a 400. A raw control byte never
// reaches the app.
func TestGatewayWireHostilePaths(t *testing.T) {
	addr, app := startWtGateway(t, Config{})
	for _, c := range []struct {
		target string
		uri    string // as the app received it; "" when refused with 400
		path   string // as the app decoded it
	}{
		// Dot segments are neither removed nor refused (a proxy might well
		// refuse them): the mapping rules and the app see them as sent.
		{"/../etc/passwd", "/../etc/passwd", "/../etc/passwd"},
		{"/a/./b/../c", "/a/./b/../c", "/a/./b/../c"},
		{"/%2e%2e/x", "/%2e%2e/x", "/../x"},
		{"/a%2fb", "/a%2fb", "/a/b"},
		{"/a%00b", "/a%00b", "/a\x00b"}, // forwarded escaped: no raw NUL on the wire
		{"/a%0d%0aX-Injected:%20x", "/a%0d%0aX-Injected:%20x", "/a\r\nX-Injected: x"},
		{"//double", "//double", "//double"},
		{"/a#frag", "/a%23frag", "/a#frag"},          // net/http keeps a fragment in the path; it is forwarded escaped
		{"/caf\xc3\xa9", "/caf%C3%A9", "/caf\u00e9"}, // raw UTF-8 is escaped on the way
		{"/%zz", "", ""},
		{"/a%", "", ""},
		{"/a\x00b", "", ""},
		{"/a\x01b", "", ""},
		{"/a\x7fb", "", ""},
		{"/a\tb", "", ""},
		{"/a\rb", "", ""},
		{"/a b", "", ""},
	} {
		t.Run(fmt.Sprintf("%q", c.target), func(t *testing.T) {
			raw := "GET " + c.target + "?" + wtKey + " HTTP/1.1\r\nHost: gw\r\n\r\n"
			if c.uri == "" {
				wtRefused(t, addr, app, raw, 400)
				return
			}
			_, seen := wtServed(t, addr, app, raw)
			assert.Equal(t, c.uri+"?"+wtKey, seen.uri)
			assert.Equal(t, c.path, seen.path)
			assert.Empty(t, seen.header["X-Injected"])
		})
	}
	for _, s := range app.seen() {
		for _, b := range []byte(s.uri) {
			assert.False(t, b < ' ' || b == 0x7f, "a raw control byte reached the app: %q", s.uri)
		}
	}
}

// The app's answers relayed with framing the client can follow, one after
// another on one connection, asked for in turn and pipelined.
func TestGatewayWireAnswerFraming(t *testing.T) {
	addr, app := startWtGateway(t, Config{})
	type want struct {
		method, path string
		status       int
		length       int64
		te           []string
		body         string
	}
	wants := []want{
		{"GET", "/chunked", 200, -1, []string{"chunked"}, "one,two,three"},
		{"GET", "/204", 204, 0, nil, ""},
		{"GET", "/304", 304, 0, nil, ""},
		{"HEAD", "/sized", 200, 42, nil, ""},
		{"GET", "/sized", 200, 42, nil, strings.Repeat("s", 42)},
		{"HEAD", "/chunked", 200, -1, nil, ""},
		{"HEAD", "/plain", 200, int64(len("HEAD /plain ")), nil, ""},
		{"GET", "/plain", 200, int64(len("GET /plain ")), nil, "GET /plain "},
	}
	check := func(a wtAnswer, w want) {
		t.Helper()
		assert.Equal(t, w.status, a.status, w.method+" "+w.path)
		assert.Equal(t, w.length, a.length, w.method+" "+w.path)
		assert.Equal(t, w.te, a.te, w.method+" "+w.path)
		assert.Equal(t, w.body, a.body, w.method+" "+w.path)
		assert.False(t, a.close, w.method+" "+w.path)
	}
	request := func(w want) string {
		return w.method + " " + w.path + "?" + wtKey + " HTTP/1.1\r\nHost: gw\r\n\r\n"
	}
	wc := wtDial(t, addr)
	for _, w := range wants {
		wc.send(request(w))
		a := wc.read(w.method)
		check(a, w)
		if w.path == "/304" {
			assert.Equal(t, `"v1"`, a.header.Get("ETag"))
		}
		assert.Zero(t, wc.br.Buffered(), "nothing follows the answer to %s %s", w.method, w.path)
	}
	var all strings.Builder
	for _, w := range wants {
		all.WriteString(request(w))
	}
	wc.send(all.String())
	for _, w := range wants {
		check(wc.read(w.method), w)
	}
	wc.send(wtGet("/last"))
	assert.Equal(t, "GET /last ", wc.read("GET").body)
	assert.Len(t, app.seen(), 2*len(wants)+1)
}

// An app that dies in the middle of its answer: the client's connection is
// cut too, so it can never take the partial answer for a whole one; the
// request is not retried.
func TestGatewayWireUpstreamCutsAnswer(t *testing.T) {
	addr, app := startWtGateway(t, Config{})
	for _, path := range []string{"/cut", "/cutchunked"} {
		wc := wtDial(t, addr)
		wc.send(wtGet(path) + wtGet("/never"))
		resp, err := http.ReadResponse(wc.br, nil)
		if err == nil {
			// The head went out before the app failed: the body must end short.
			assert.Equal(t, 200, resp.StatusCode, path)
			var b []byte
			b, err = io.ReadAll(resp.Body)
			assert.LessOrEqual(t, len(b), 10, path)
		}
		assert.ErrorIs(t, err, io.ErrUnexpectedEOF, path)
		wc.closed()
	}
	assert.Equal(t, []string{"GET /cut?" + wtKey, "GET /cutchunked?" + wtKey}, app.requests())
	_, seen := wtServed(t, addr, app, wtGet("/fine"))
	assert.Equal(t, "/fine", seen.path)
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
