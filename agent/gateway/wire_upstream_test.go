package gateway

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// The app's side of the wire: what the gateway does with answers a buggy
// or hostile app writes (or one serving what an attacker stored), held
// against wtRawApp, which records the exact bytes it receives.

// wtForged is a whole answer an app's bytes may hold: were the gateway to
// read it as the answer to a later request, it would hand one client's
// answer, of the attacker's making, to another.
const wtForged = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nforged"

// An app that writes more than its answer (past its Content-Length, a body
// on an answer to HEAD or a 204), a moment after the answer: a kept-alive
// connection holding bytes nobody asked for is closed, never used for the
// next request, whose answer they would become. Go's Transport ("Unsolicited
// response received on idle HTTP channel") and nginx's keepalive module
// (ngx_http_upstream_keepalive_close_handler) close it the same way.
func TestGatewayWireUnsolicitedUpstreamBytesAnswerNobody(t *testing.T) {
	for _, c := range []struct {
		name, method, path string
		answer             string // written first; wtForged follows a moment later
	}{
		{"past the length", "GET", "/past", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"},
		{"past a chunked body", "GET", "/past", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"},
		{"a body on HEAD", "HEAD", "/head", "HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(len(wtForged)) + "\r\n\r\n"},
		{"a body on 204", "GET", "/204", "HTTP/1.1 204 No Content\r\n\r\n"},
		{"after saying it closes", "GET", "/close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"},
	} {
		t.Run(c.name, func(t *testing.T) {
			wrote := make(chan struct{})
			app := newWtRawApp(t, func(r *http.Request, conn net.Conn) {
				if r.URL.Path != c.path {
					wtPathAnswer(r, conn)
					return
				}
				_, _ = io.WriteString(conn, c.answer)
				time.Sleep(30 * time.Millisecond) // the gateway has relayed the answer and pooled the connection
				_, _ = io.WriteString(conn, wtForged)
				close(wrote)
			})
			addr := startWtGatewayTo(t, app.url)
			attacker := wtDial(t, addr)
			attacker.send(c.method + " " + c.path + "?" + wtKey + " HTTP/1.1\r\nHost: gw\r\n\r\n")
			a := attacker.read(c.method)
			assert.NotEqual(t, "forged", a.body)
			<-wrote // on loopback, in the gateway's socket once written

			for _, method := range []string{"GET", "POST"} {
				victim := wtDial(t, addr)
				victim.send(method + " /victim?" + wtKey + " HTTP/1.1\r\nHost: gw\r\nContent-Length: 0\r\n\r\n")
				v := victim.read(method)
				assert.Equal(t, http.StatusOK, v.status, method)
				assert.Equal(t, "/victim", v.body, "%s: the victim gets its own answer", method)
			}
			assert.Len(t, app.requests(), 3, "each request reached the app once")
		})
	}
}

// An app that closes a kept-alive connection while it is idle (Node closes
// after 5 s, gunicorn after 2 s): a request that cannot be replayed (a POST)
// goes to a fresh connection, never to the closed one, where it would fail.
func TestGatewayWirePostAfterTheAppClosedAnIdleConnection(t *testing.T) {
	app := newWtRawApp(t, func(r *http.Request, c net.Conn) {
		wtPathAnswer(r, c)
		if r.URL.Path == "/first" {
			time.Sleep(20 * time.Millisecond)
			_ = c.Close() // without saying so in the answer
		}
	})
	addr := startWtGatewayTo(t, app.url)
	wc := wtDial(t, addr)
	wc.send(wtGet("/first"))
	assert.Equal(t, "/first", wc.read("GET").body)
	time.Sleep(100 * time.Millisecond)
	wc.send(wtPost("/post", "hello"))
	a := wc.read("POST")
	assert.Equal(t, http.StatusOK, a.status, "answer: %q", a.body)
	assert.Equal(t, "/post", a.body)
	reqs := app.requests()
	require.Len(t, reqs, 2)
	assert.True(t, strings.HasSuffix(reqs[1], "\r\n\r\nhello"), "the POST reached the app whole: %q", reqs[1])
}

// The head of the app's answer is bounded as a client's head is
// (http1.MaxHeaderBytes): past it the gateway answers 502 rather than
// hold, and relay, a head of any size. nginx, in front of APIcast, answers
// 502 "upstream sent too big header" past its proxy_buffer_size (4 or 8 KiB
// by default). Interim (1xx) answers count towards the bound.
func TestGatewayWireUpstreamHeadIsBounded(t *testing.T) {
	huge := strings.Repeat("h", 256<<10)
	app := newWtRawApp(t, func(r *http.Request, c net.Conn) {
		switch r.URL.Path {
		case "/huge":
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nX-Huge: "+huge+"\r\nContent-Length: 2\r\n\r\nok")
		case "/many":
			var b strings.Builder
			b.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n")
			for i := range 20000 {
				b.WriteString("X-H" + strconv.Itoa(i) + ": v\r\n")
			}
			_, _ = io.WriteString(c, b.String()+"\r\nok")
		case "/interim":
			_, _ = io.WriteString(c, strings.Repeat("HTTP/1.1 103 Early Hints\r\nLink: <"+strings.Repeat("l", 1000)+">\r\n\r\n", 100)+
				"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		case "/large": // within the bound, over the lean reader's buffer
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nX-Large: "+strings.Repeat("l", 32<<10)+"\r\nContent-Length: 2\r\n\r\nok")
		case "/hints":
			_, _ = io.WriteString(c, "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		default:
			wtPathAnswer(r, c)
		}
	})
	addr := startWtGatewayTo(t, app.url)
	for _, path := range []string{"/huge", "/many", "/interim"} {
		wc := wtDial(t, addr)
		wc.send(wtGet(path))
		a := wc.read("GET")
		assert.Equal(t, http.StatusBadGateway, a.status, path)
		assert.Zero(t, len(a.header.Get("X-Huge")), "%s: nothing of the head is relayed", path)
	}
	wc := wtDial(t, addr)
	wc.send(wtGet("/large"))
	a := wc.read("GET")
	assert.Equal(t, http.StatusOK, a.status)
	assert.Len(t, a.header.Get("X-Large"), 32<<10)
	wc.send(wtGet("/hints"))
	a = wc.read("GET")
	assert.Equal(t, http.StatusOK, a.status, "an interim answer is not relayed; the final one is")
	assert.Equal(t, "ok", a.body)
	wc.send(wtGet("/fine"))
	assert.Equal(t, "/fine", wc.read("GET").body)
}

// An app that switches protocols though the request did not ask (the
// gateway sends no Upgrade header unless it tunnels through
// httputil.ReverseProxy): its answer cannot be relayed, since what follows
// it is not HTTP. The gateway answers 502, as httputil.ReverseProxy does
// ("backend tried to switch protocol"), and never writes a 101 to a client
// whose connection it goes on reading as HTTP; with an Upgrade header in
// the request, the 502 closes the connection (switchOrClose).
func TestGatewayWireUnaskedSwitchOfProtocolsIsNotRelayed(t *testing.T) {
	app := newWtRawApp(t, func(r *http.Request, c net.Conn) {
		if r.URL.Path != "/switch" {
			wtPathAnswer(r, c)
			return
		}
		_, _ = io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: foo\r\nConnection: Upgrade\r\n\r\n"+wtForged)
	})
	addr := startWtGatewayTo(t, app.url)
	wc := wtDial(t, addr)
	wc.send(wtGet("/switch"))
	a := wc.read("GET")
	assert.Equal(t, http.StatusBadGateway, a.status)
	wc.send(wtGet("/next"))
	assert.Equal(t, "/next", wc.read("GET").body, "the connection serves on")

	// Upgrade without Connection: upgrade is no tunnel: forwarded without it.
	wc = wtDial(t, addr)
	wc.send("GET /switch?" + wtKey + " HTTP/1.1\r\nHost: gw\r\nUpgrade: foo\r\n\r\n" + wtGet("/never"))
	a = wc.read("GET")
	assert.Equal(t, http.StatusBadGateway, a.status)
	assert.True(t, a.close)
	wc.closed()
	for _, r := range app.requests() {
		assert.NotContains(t, r, "/never")
		assert.NotContains(t, r, "Upgrade")
	}
}

// An app that answers a request before reading its body, and closes: the
// gateway's write of the body fails, which is the app's doing, not the
// client's. The client gets 502, as from nginx ("broken pipe while sending
// request to upstream"), not a 400 blaming its body; the connection goes on
// once the rest of the body is skipped.
func TestGatewayWireAppClosingBeforeTheBodyIsNotTheClientsFault(t *testing.T) {
	app := testenv.ServeTCP(t, func(c net.Conn) {
		if _, err := http.ReadRequest(bufio.NewReader(c)); err == nil { // the head alone
			_, _ = io.WriteString(c, "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		}
		_ = c.Close() // unread bytes: a reset
	})
	addr := startWtGatewayTo(t, "http://"+app)
	wc := wtDial(t, addr)
	body := strings.Repeat("b", 8<<20)
	go func() { _, _ = io.WriteString(wc.c, wtPost("/early", body)) }()
	a := wc.read("POST")
	assert.NotEqual(t, http.StatusBadRequest, a.status, "answer: %q", a.body)
	assert.Equal(t, http.StatusBadGateway, a.status, "answer: %q", a.body)
}

// An app that takes a request on a kept-alive connection and closes without
// answering may have acted on it: a request whose method is not idempotent
// (a POST, even without a body) is never sent again, as Go's Transport and
// nginx (proxy_next_upstream, non_idempotent off) never send it again.
func TestGatewayWireNonIdempotentRequestIsNotSentTwice(t *testing.T) {
	app := newWtRawApp(t, func(r *http.Request, c net.Conn) {
		if r.Method == http.MethodPost {
			_ = c.Close() // acted on it, then died
			return
		}
		wtPathAnswer(r, c)
	})
	addr := startWtGatewayTo(t, app.url)
	wc := wtDial(t, addr)
	wc.send(wtGet("/warm"))
	assert.Equal(t, "/warm", wc.read("GET").body)
	wc.send(wtPost("/once", ""))
	a := wc.read("POST")
	assert.Equal(t, http.StatusBadGateway, a.status)
	var posts int
	for _, r := range app.requests() {
		if strings.HasPrefix(r, "POST /once") {
			posts++
		}
	}
	assert.Equal(t, 1, posts, "the app received the POST once")
}

// Answers whose framing is ambiguous or unsupported: relayed by the one
// reading RFC 9112 allows (Transfer-Encoding over Content-Length, a body to
// the end of an HTTP/1.0 answer), or refused with 502, or cut (a bad chunk
// size, found once the head is read); either way, the
// client's connection goes on with the next answer where it starts.
func TestGatewayWireAmbiguousUpstreamAnswers(t *testing.T) {
	answers := map[string]string{
		"/cl-te":      "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"/te-cl":      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"/http10":     "HTTP/1.0 200 OK\r\n\r\nhello",
		"/two-cl":     "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
		"/xchunked":   "HTTP/1.1 200 OK\r\nTransfer-Encoding: xchunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"/identity":   "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, identity\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"/bad-chunk":  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\nhello\r\n0\r\n\r\n",
		"/plus-cl":    "HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello",
		"/fold-cl":    "HTTP/1.1 200 OK\r\nX-A: a\r\n Content-Length: 99\r\nContent-Length: 5\r\n\r\nhello",
		"/lf":         "HTTP/1.1 200 OK\nContent-Length: 5\n\nhello",
		"/crlf-value": "HTTP/1.1 200 OK\r\nX-A: a\rContent-Length: 99\r\nContent-Length: 5\r\n\r\nhello",
	}
	app := newWtRawApp(t, func(r *http.Request, c net.Conn) {
		if a, ok := answers[r.URL.Path]; ok {
			_, _ = io.WriteString(c, a)
			if strings.HasPrefix(a, "HTTP/1.0") {
				_ = c.Close()
			}
			return
		}
		wtPathAnswer(r, c)
	})
	addr := startWtGatewayTo(t, app.url)
	for path, want := range map[string]struct {
		status int
		body   string
	}{
		"/cl-te": {200, "hello"}, "/te-cl": {200, "hello"}, "/http10": {200, "hello"},
		"/two-cl": {502, ""}, "/xchunked": {502, ""}, "/identity": {502, ""}, "/bad-chunk": {0, ""},
		"/plus-cl": {502, ""}, "/fold-cl": {200, "hello"}, "/lf": {200, "hello"}, "/crlf-value": {502, ""},
	} {
		wc := wtDial(t, addr)
		wc.send(wtGet(path))
		resp, err := http.ReadResponse(wc.br, nil)
		if want.status == 0 { // cut: before the head went out, or in the body
			if err == nil {
				_, err = io.ReadAll(resp.Body)
			}
			assert.Error(t, err, "%s: a cut answer is cut for the client too", path)
			continue
		}
		require.NoError(t, err, path)
		b, err := io.ReadAll(resp.Body)
		assert.Equal(t, want.status, resp.StatusCode, path)
		require.NoError(t, err, path)
		if want.status == 200 {
			assert.Equal(t, want.body, string(b), path)
		}
		for _, v := range resp.Header["X-A"] {
			assert.NotContains(t, v, "\r", path)
			assert.NotContains(t, v, "\n", path)
		}
		assert.NotContains(t, resp.Header["Content-Length"], "99", "%s: a length hidden in another field is no length", path)
		wc.send(wtGet("/next"))
		assert.Equal(t, "/next", wc.read("GET").body, "%s: the connection goes on", path)
	}
}
