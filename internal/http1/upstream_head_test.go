package http1

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portolan/portolan/internal/testenv"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// checkUpstreamHeadAgainstNetHTTP asserts that whatever answer head
// parseUpstreamHead accepts, http.ReadResponse reads the same way: status,
// headers, length and whether the connection closes. An answer read
// differently could hand one client the next client's answer.
func checkUpstreamHeadAgainstNetHTTP(t *testing.T, head string) bool {
	t.Helper()
	h := upstreamHead{header: http.Header{}}
	if !parseUpstreamHead(head, &h) {
		return false
	}
	r, err := http.ReadResponse(bufio.NewReader(strings.NewReader(head)), &http.Request{Method: http.MethodGet})
	require.NoError(t, err, "net/http refuses an answer the lean parser took: %q", head)
	assert.Equal(t, r.StatusCode, h.status, "%q", head)
	assert.Equal(t, r.ContentLength, h.contentLength, "%q", head)
	assert.Equal(t, r.Close, h.close, "%q", head)
	assert.Empty(t, r.TransferEncoding, "%q", head)
	got := h.header
	if h.close { // kept, where ReadResponse deletes it: respond drops what it lists
		got = got.Clone()
		delete(got, "Connection")
	}
	assert.Equal(t, r.Header, got, "%q", head)
	return true
}

func TestParseUpstreamHead(t *testing.T) {
	accepted := []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\nDate: Fri, 27 Nov 2026 23:00:00 GMT\r\n\r\n",
		"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200\r\nContent-Length: 5\r\n\r\n",
		"HTTP/1.1 200 \r\nContent-Length: 5\r\n\r\n",
		"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 3\r\n\r\n",
		"HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nContent-Length: 1\r\n\r\n",
		"HTTP/1.1 299 Custom\r\nX-Tab:\ta b\t\r\nContent-Length: 10\r\n\r\n",
	}
	for _, head := range accepted {
		assert.True(t, checkUpstreamHeadAgainstNetHTTP(t, head), "%q should be lean", head)
	}
	refused := []string{
		"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n",
		"HTTP/1.1 200 OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: -2\r\n\r\n",
		"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n",
		"HTTP/1.1 101 Switching Protocols\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 103 Early Hints\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200OK\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 600 Odd\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX-A : 1\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX-A: \x01\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 O\x00K\r\nContent-Length: 0\r\n\r\n",
	}
	for _, head := range refused {
		assert.False(t, parseUpstreamHead(head, &upstreamHead{header: http.Header{}}), "%q should go to http.ReadResponse", head)
	}
}

// The Forwarder reads the subset itself and leaves the rest, unread, to
// http.ReadResponse on the same connection: a kept-alive connection serves
// answers of both kinds in turn without losing a byte.
func TestReadLeanAnswer(t *testing.T) {
	stream := "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\n\r\nhello" +
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" +
		"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
	uc := &upstreamConn{br: bufio.NewReaderSize(strings.NewReader(stream), 4<<10), head: upstreamHead{header: http.Header{}}}

	resp, err := uc.readLeanAnswer()
	require.NoError(t, err)
	require.NotNil(t, resp, "in the subset")
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, "hello", string(b))
	assert.Equal(t, "1", resp.Header.Get("X-A"))

	resp, err = uc.readLeanAnswer()
	require.NoError(t, err)
	require.Nil(t, resp, "chunked: for http.ReadResponse")
	resp, err = http.ReadResponse(uc.br, nil)
	require.NoError(t, err)
	b, err = io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, "abc", string(b))

	resp, err = uc.readLeanAnswer()
	require.NoError(t, err)
	require.NotNil(t, resp)
	assert.Equal(t, 404, resp.StatusCode)
	assert.True(t, resp.Close)
	b, err = io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Empty(t, b)

	// An answer cut short reads as cut.
	uc = &upstreamConn{br: bufio.NewReader(strings.NewReader("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")), head: upstreamHead{header: http.Header{}}}
	resp, err = uc.readLeanAnswer()
	require.NoError(t, err)
	_, err = io.ReadAll(resp.Body)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
}

func BenchmarkReadUpstreamAnswer(b *testing.B) {
	answer := "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain; charset=utf-8\r\nDate: Fri, 27 Nov 2026 23:00:00 GMT\r\n\r\nok"
	sr := strings.NewReader(answer)
	br := bufio.NewReader(sr)
	b.Run("lean", func(b *testing.B) {
		uc := &upstreamConn{br: br, head: upstreamHead{header: http.Header{}}}
		b.ReportAllocs()
		for b.Loop() {
			sr.Reset(answer)
			br.Reset(sr)
			resp, err := uc.readLeanAnswer()
			if err != nil || resp == nil {
				b.Fatal("not lean", err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
		}
	})
	b.Run("baseline=net/http.ReadResponse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sr.Reset(answer)
			br.Reset(sr)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
		}
	})
}

// FuzzUpstreamHead checks parseUpstreamHead against
// http.ReadResponse on arbitrary answer heads.
func FuzzUpstreamHead(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok",
		"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 3\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n",
		"HTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 200\r\nA: 1\r\na: 2\r\nContent-Length: 0\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		i := bytes.Index(b, crlfcrlf)
		if i < 0 {
			return
		}
		checkUpstreamHeadAgainstNetHTTP(t, string(b[:i+len(crlfcrlf)]))
	})
}

// rawAnswerUpstream answers each request with answer, then closes.
func rawAnswerUpstream(t *testing.T, answer string) *Forwarder {
	t.Helper()
	addr := testenv.ServeTCP(t, func(c net.Conn) {
		defer c.Close()
		br := bufio.NewReader(c)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			if line == "\r\n" {
				break
			}
		}
		_, _ = io.WriteString(c, answer)
	})
	return NewForwarder(ForwarderConfig{Addr: addr, Host: "app", Timeout: 5 * time.Second, Idle: 4})
}

// A header the upstream's Connection lists does not reach the client, also
// when close is listed beside it, whichever reader takes the answer (the
// lean one, or http.ReadResponse with the head in the buffer or over it).
func TestConnectionListedAnswerHeaderIsDroppedWithClose(t *testing.T) {
	for name, answer := range map[string]string{
		"lean":                     "HTTP/1.1 200 OK\r\nConnection: close, X-Internal\r\nX-Internal: secret\r\nContent-Length: 2\r\n\r\nok",
		"ReadResponse":             "HTTP/1.1 200 OK\r\nConnection: close, X-Internal\r\nX-Internal: secret\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
		"ReadResponse, folded":     "HTTP/1.1 200 OK\r\nConnection: close,\r\n X-Internal\r\nX-Internal: secret\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
		"ReadResponse, large head": "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("b", 8<<10) + "\r\nConnection: close, X-Internal\r\nX-Internal: secret\r\nContent-Length: 2\r\n\r\nok",
	} {
		t.Run(name, func(t *testing.T) {
			f := rawAnswerUpstream(t, answer)
			w := httptest.NewRecorder()
			require.NoError(t, f.Serve(w, httptest.NewRequest("GET", "/", nil), "", nil))
			require.Equal(t, "ok", w.Body.String())
			require.Empty(t, w.Header().Values("X-Internal"), "a Connection-listed header was relayed to the client")
		})
	}
}
