package http1

import (
	"bufio"
	"bytes"
	"net/http"
	"net/textproto"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// checkHeadAgainstNetHTTP asserts the one property the lean server rests
// on: whatever head parseRequestHead accepts, net/http parses the same way
// (method, target, path, query, host, length, close, headers), so the two
// can never disagree about a request or about where it ends.
func checkHeadAgainstNetHTTP(t *testing.T, head string) bool {
	t.Helper()
	h := newRequestHead()
	if !parseRequestHead(head, h) {
		return false
	}
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(head)))
	require.NoError(t, err, "net/http refuses a head the lean parser took: %q", head)
	assert.Equal(t, r.Method, h.method, "%q", head)
	assert.Equal(t, r.RequestURI, h.target, "%q", head)
	assert.Equal(t, r.URL.Path, h.path, "%q", head)
	assert.Empty(t, r.URL.RawPath, "%q", head)
	assert.Equal(t, r.URL.RawQuery, h.query, "%q", head)
	assert.Equal(t, r.URL.ForceQuery, h.forceQuery, "%q", head)
	assert.Equal(t, r.Host, h.host, "%q", head)
	assert.Equal(t, r.ContentLength, h.contentLength, "%q", head)
	assert.Equal(t, r.Close, h.close, "%q", head)
	assert.Empty(t, r.TransferEncoding, "%q", head)
	delete(r.Header, "Host") // kept out of the map by both
	if len(r.Header) == 0 {
		r.Header = http.Header{}
	}
	assert.Equal(t, r.Header, h.header, "%q", head)
	return true
}

func TestParseRequestHead(t *testing.T) {
	accepted := []string{
		"GET /health?user_key=k HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: curl/8.0\r\nAccept: */*\r\n\r\n",
		"POST /a/b;c=d HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\n",
		"GET /x? HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /x?a?b HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET //x HTTP/1.1\r\nHost: [::1]:80\r\n\r\n",
		"GET /q?s=%20x&y=%zz HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Close\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nx-lower: a\r\nX-Lower: b\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nPragma: no-cache\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nX-Empty:\r\nX-Tab:\ta\t\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
	}
	for _, head := range accepted {
		assert.True(t, checkHeadAgainstNetHTTP(t, head), "%q should be lean", head)
	}
	// Each of these goes to net/http, which serves or refuses it.
	refused := []string{
		"GET / HTTP/1.0\r\nHost: x\r\n\r\n",
		"GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET * HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /a%20b HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /a(b) HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /a\x00b HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /  HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET / HTTP/1.1\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x/y\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5 5\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1234567890123456789\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\nX-B: 2\r\n\r\n",
		"GET / HTTP/1.1\r\nHost : x\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n",
		"G(T / HTTP/1.1\r\nHost: x\r\n\r\n",
		"\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
	}
	for _, head := range refused {
		assert.False(t, parseRequestHead(head, newRequestHead()), "%q should go to net/http", head)
	}
	many := "GET / HTTP/1.1\r\nHost: x\r\n" + strings.Repeat("X-A: 1\r\n", maxLeanHeaders+1) + "\r\n"
	assert.False(t, parseRequestHead(many, newRequestHead()), "more than maxLeanHeaders lines")
}

// A head parsed into a reused requestHead leaves nothing of the one before.
func TestParseRequestHeadReuse(t *testing.T) {
	h := newRequestHead()
	require.True(t, parseRequestHead("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\nX-A: 1\r\n\r\n", h))
	require.True(t, parseRequestHead("GET /b HTTP/1.1\r\nHost: y\r\n\r\n", h))
	assert.Equal(t, "GET", h.method)
	assert.Equal(t, "y", h.host)
	assert.Zero(t, h.contentLength)
	assert.False(t, h.close)
	assert.Empty(t, h.header)
}

func BenchmarkParseRequestHead(b *testing.B) {
	head := "GET /health?user_key=bench0123456789abcdef0123456789ab HTTP/1.1\r\nHost: 127.0.0.1:18083\r\n\r\n"
	b.Run("lean", func(b *testing.B) {
		h := newRequestHead()
		b.ReportAllocs()
		for b.Loop() {
			if !parseRequestHead(string([]byte(head)), h) {
				b.Fatal("refused")
			}
		}
	})
	b.Run("baseline=net/http.ReadRequest", func(b *testing.B) {
		br, sr := bufio.NewReader(nil), strings.NewReader(head)
		b.ReportAllocs()
		for b.Loop() {
			sr.Reset(head)
			br.Reset(sr)
			if _, err := http.ReadRequest(br); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// FuzzRequestHead checks parseRequestHead against net/http on
// arbitrary heads: the lean server may refuse what net/http takes, never
// take what net/http refuses or read it differently.
func FuzzRequestHead(f *testing.F) {
	for _, s := range []string{
		"GET /health?user_key=k HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n",
		"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
		"GET / HTTP/1.1\r\nHost: x\r\nPragma: no-cache\r\nX-A: 1\r\nx-a: 2\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
		"GET /x?a?b HTTP/1.1\r\nHost: [::1]:80\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		i := bytes.Index(b, crlfcrlf)
		if i < 0 {
			return
		}
		checkHeadAgainstNetHTTP(t, string(b[:i+len(crlfcrlf)]))
	})
}

// TestCanonicalToken holds canonicalToken to isToken and to
// textproto.CanonicalMIMEHeaderKey, on every name of up to four bytes from an
// alphabet of the cases that matter.
func TestCanonicalToken(t *testing.T) {
	const alphabet = "aZ-_9 :é"
	var check func(name string)
	check = func(name string) {
		if name != "" {
			canonical, token := canonicalToken(name)
			if token != isToken(name) {
				t.Fatalf("canonicalToken(%q): token %v, isToken %v", name, token, isToken(name))
			}
			if token && canonical != (textproto.CanonicalMIMEHeaderKey(name) == name) {
				t.Fatalf("canonicalToken(%q): canonical %v, CanonicalMIMEHeaderKey gives %q", name, canonical, textproto.CanonicalMIMEHeaderKey(name))
			}
		}
		if len(name) < 4 {
			for i := 0; i < len(alphabet); i++ {
				check(name + alphabet[i:i+1])
			}
		}
	}
	check("")
	for _, name := range []string{"Content-Type", "content-type", "X-3scale-Proxy-Secret-Token", "ETag", "Www-Authenticate", "WWW-Authenticate"} {
		check(name)
	}
}

// The close token of Connection is read as net/http reads it: trimmed of
// spaces and tabs only, and compared without Unicode case folding.
func TestConnectionCloseTokenIsReadAsNetHTTPReadsIt(t *testing.T) {
	checkHeadAgainstNetHTTP(t, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\u00a0\r\n\r\n")
	checkHeadAgainstNetHTTP(t, "GET / HTTP/1.1\r\nHost: x\r\nConnection: \u0085close\r\n\r\n")
	checkHeadAgainstNetHTTP(t, "GET / HTTP/1.1\r\nHost: x\r\nConnection: clo\u017fe\r\n\r\n") // ſ folds to s in Unicode
}
