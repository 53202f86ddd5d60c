package gateway

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

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
