package http1

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testBodyTimeout is the body timeout of these tests; a stalled body is
// cut between half of it and all of it after its last bytes.
const testBodyTimeout = 400 * time.Millisecond

// startBodyTimedServer serves h through the lean server (and net/http's
// behind it) with the test's body timeout.
func startBodyTimedServer(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := NewServer(h, zerolog.Nop())
	s.BodyTimeout = testBodyTimeout
	return serveOn(t, s, ln)
}

// echoBody answers with the request's body once read whole, and as the
// gateway does when it cannot be: 408 when the client stopped sending it,
// 400 otherwise. The server closes the connection then, by itself.
var echoBody = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	switch {
	case errors.Is(err, ErrBodyTimeout):
		http.Error(w, err.Error(), http.StatusRequestTimeout)
	case err != nil:
		http.Error(w, err.Error(), http.StatusBadRequest)
	default:
		_, _ = w.Write(b)
	}
})

// bodyHeads are a POST's head announcing a body of n bytes, and how to send
// a part of it: with its Content-Length (the lean loop), and chunked
// (net/http's server).
var bodyHeads = map[string]struct {
	head func(n int) string
	part func(s string) string
	end  string
}{
	"content-length": {
		head: func(n int) string {
			return "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: " + strconv.Itoa(n) + "\r\n\r\n"
		},
		part: func(s string) string { return s },
	},
	"chunked": {
		head: func(int) string { return "POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" },
		part: func(s string) string { return strconv.FormatInt(int64(len(s)), 16) + "\r\n" + s + "\r\n" },
		end:  "0\r\n\r\n",
	},
}

// A client that sends a part of its body and stops is answered 408 once
// the body timeout has passed since its last bytes, and its connection is
// closed, as nginx's client_body_timeout does: it holds no connection (nor
// an upstream's) for longer.
func TestServerBodyStallIs408AndCloses(t *testing.T) {
	addr := startBodyTimedServer(t, echoBody)
	for name, b := range bodyHeads {
		t.Run(name, func(t *testing.T) {
			c := dialWire(t, addr)
			c.send(b.head(100) + b.part("0123456789"))
			sent := time.Now()
			resp, _ := c.answer(http.MethodPost)
			took := time.Since(sent)
			assert.Equal(t, http.StatusRequestTimeout, resp.StatusCode)
			assert.True(t, resp.Close, "the answer says the connection closes")
			assert.True(t, c.closed(), "and it is closed")
			assert.GreaterOrEqual(t, took, testBodyTimeout/2, "not before half the timeout")
			assert.Less(t, took, testBodyTimeout+time.Second, "within the timeout")
		})
	}
}

// The timeout bounds the time between two reads, not the whole body: a
// body trickling a byte every third of it, for three times its length,
// reaches the handler whole.
func TestServerBodyTrickleIsNotCut(t *testing.T) {
	addr := startBodyTimedServer(t, echoBody)
	const body = "abcdefghi"
	for name, b := range bodyHeads {
		t.Run(name, func(t *testing.T) {
			c := dialWire(t, addr)
			c.send(b.head(len(body)))
			start := time.Now()
			for i := range len(body) {
				time.Sleep(testBodyTimeout / 3)
				c.send(b.part(body[i : i+1]))
			}
			c.send(b.end)
			resp, got := c.answer(http.MethodPost)
			assert.GreaterOrEqual(t, time.Since(start), 3*testBodyTimeout, "the upload outlasted the timeout")
			assert.Equal(t, http.StatusOK, resp.StatusCode, got)
			assert.Equal(t, body, got)
			c.send("GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
			resp, _ = c.answer(http.MethodGet)
			assert.Equal(t, http.StatusOK, resp.StatusCode, "the connection serves the next request")
		})
	}
}

// What a handler left of a body is read and dropped after its answer, to
// keep the connection: by net/http's server too (a chunked body), within
// the body timeout. A client that stops sending it has its connection
// closed then, not held.
func TestServerUnreadBodyOfStalledClientIsDropped(t *testing.T) {
	addr := startBodyTimedServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "answered before the body")
	}))
	b := bodyHeads["chunked"]
	c := dialWire(t, addr)
	c.send(b.head(0) + b.part("0123456789"))
	resp, got := c.answer(http.MethodPost)
	assert.Equal(t, http.StatusOK, resp.StatusCode, got)
	answered := time.Now()
	assert.True(t, c.closed(), "the connection is closed")
	assert.Less(t, time.Since(answered), testBodyTimeout+time.Second, "within the body timeout")
}
