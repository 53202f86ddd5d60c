package http1

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"github.com/portolan/portolan/internal/testenv"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// scanAll runs stream through a fresh check, in pieces of size bytes, and
// returns how many bytes it let through and its error.
func scanAll(stream string, size int) (int, error) {
	var f framingCheck
	passed := 0
	for len(stream) > 0 {
		piece := stream[:min(size, len(stream))]
		n, err := f.scan([]byte(piece))
		passed += n
		if err != nil {
			return passed, err
		}
		stream = stream[len(piece):]
	}
	return passed, nil
}

const framingGet = "GET /next HTTP/1.1\r\nHost: x\r\n\r\n"

func TestFramingRefusesAmbiguousLengths(t *testing.T) {
	for _, c := range []struct{ name, head string }{
		{"CL then TE", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"},
		{"TE then CL", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"},
		{"CL and unknown TE", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: gzip\r\n\r\n"},
		{"any case", "POST / HTTP/1.1\r\nHost: x\r\ncontent-length: 3\r\nTRANSFER-ENCODING: chunked\r\n\r\n"},
		{"bare LF lines", "POST / HTTP/1.1\nHost: x\nContent-Length: 3\nTransfer-Encoding: chunked\n\n"},
		{"HTTP/1.0 with TE", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"},
		{"HTTP/1.0 with TE and CL", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"},
		{"HTTP/0.9 with TE", "POST / HTTP/0.9\r\nTransfer-Encoding: chunked\r\n\r\n"},
		{"equal lengths", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n"},
		{"conflicting lengths", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n"},
		{"a list of lengths", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\n\r\n"},
		{"a signed length", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\n"},
		{"a folded length", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n 4\r\n\r\n"},
		{"a folded encoding", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip,\r\n chunked\r\n\r\n"},
		{"an empty request line", "\r\nHost: x\r\n\r\n"},
		{"a TE line too long to keep", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " + strings.Repeat(" ", maxFramingLine) + "chunked\r\n\r\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, size := range []int{1, 7, 4096} {
				n, err := scanAll(framingGet+c.head+"abc", size)
				require.ErrorIs(t, err, errFraming, "piece size %d", size)
				// The request before passes whole; the refused head never
				// does (net/http is left waiting for its end).
				assert.GreaterOrEqual(t, n, len(framingGet), "piece size %d", size)
				assert.Less(t, n, len(framingGet)+len(c.head), "piece size %d", size)
			}
		})
	}
}

func TestFramingFollowsBodies(t *testing.T) {
	// Each stream is requests net/http reads in turn; the last head is
	// refused, which the check can only know if it followed every body.
	refused := "GET /r HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"
	for _, c := range []struct{ name, stream string }{
		{"no body", framingGet + framingGet},
		{"length", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 43\r\n\r\n" + refused},
		{"CRLF after a POST body", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi\r\n"},
		{"chunked", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
			"5\r\nhello\r\n3;ext=1\r\n" + refused[:3] + "\r\nA \r\n0123456789\r\n0\r\n\r\n"},
		{"chunked with a trailer", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n" +
			"2\r\nhi\r\n0\r\nX-Sum: 1\r\n\r\n"},
		{"HTTP/1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx" + framingGet},
		{"a fold elsewhere", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n Transfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\nx"},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, size := range []int{1, 3, 4096} {
				n, err := scanAll(c.stream+framingGet, size)
				require.NoError(t, err, "piece size %d", size)
				assert.Equal(t, len(c.stream)+len(framingGet), n)
				n, err = scanAll(c.stream+refused, size)
				require.ErrorIs(t, err, errFraming, "piece size %d: the head after is followed", size)
				assert.Equal(t, len(c.stream)+len(refused)-1, n)
			}
		})
	}
}

func TestFramingRefusesBadChunks(t *testing.T) {
	head := "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
	for _, body := range []string{
		"5\nhello\r\n0\r\n\r\n",      // bare LF: net/http refuses it too
		"5\r\nhelloXX0\r\n\r\n",      // no CRLF after the data
		"zz\r\n",                     // not hex
		"\r\n",                       // empty size
		"5 ;x\r\nhello\r\n0\r\n\r\n", // a blank before the extension
		"1\r\r\n",                    // a CR inside the line
		"10000000000000000\r\n",      // 17 digits
		"0\r\nX A: b\r\n\r\n",        // a trailer name that is no token
		"0\r\n folded\r\n\r\n",       // a folded trailer
		"0\r\nX: " + strings.Repeat("t", 5000) + "\r\n\r\n", // a trailer over 4 KiB
	} {
		t.Run(strings.ReplaceAll(body[:min(len(body), 20)], "\r\n", "|"), func(t *testing.T) {
			_, err := scanAll(head+body+framingGet, 4096)
			assert.ErrorIs(t, err, errFraming)
		})
	}
	// Too much overhead for the data, as net/http counts it.
	_, err := scanAll(head+strings.Repeat("1;"+strings.Repeat("e", 400)+"\r\nx\r\n", 60), 4096)
	assert.ErrorIs(t, err, errFraming)
}

func TestFramingStopsAfterUpgradeAndUnsupportedCodings(t *testing.T) {
	for _, head := range []string{
		"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
	} {
		garbage := "\x81\x05hello" + "POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"
		n, err := scanAll(head+garbage, 5)
		require.NoError(t, err)
		assert.Equal(t, len(head)+len(garbage), n)
	}
}

// oneByteReader gives its bytes one at a time through a framing check, so
// that a bufio.Reader over it holds nothing beyond what net/http asked for.
type oneByteReader struct {
	b []byte
	f framingCheck
}

func (r *oneByteReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	if _, err := r.f.scan(r.b[:1]); err != nil {
		r.b = nil
		return 0, err
	}
	p[0] = r.b[0]
	r.b = r.b[1:]
	return 1, nil
}

// FuzzFraming reads arbitrary streams with net/http's request reader behind
// the framing check. The check must stay in step with net/http: when
// net/http has read a request and its body, the check expects a head; a
// body net/http fails on, the check has refused first (else net/http might
// go on reading the next request where the check does not expect one); and
// no request net/http reads came with both a Content-Length and a
// Transfer-Encoding, or a Transfer-Encoding below HTTP/1.1.
func FuzzFraming(f *testing.F) {
	for _, s := range []string{
		framingGet + framingGet,
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello\r\n" + framingGet,
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n" + framingGet,
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + framingGet,
		"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc",
		"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\nContent-Length: 1\r\n\r\nx" + framingGet,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, stream []byte) {
		src := &oneByteReader{b: stream}
		br := bufio.NewReader(src)
		post := false
		for {
			start := len(stream) - len(src.b) - br.Buffered()
			if post { // as net/http's server
				peek, _ := br.Peek(4)
				k := 0
				for k < len(peek) && (peek[k] == '\r' || peek[k] == '\n') {
					k++
				}
				_, _ = br.Discard(k)
			}
			req, err := http.ReadRequest(br)
			if err != nil {
				return // net/http answers 400 (or 501) and closes
			}
			head := bytes.ToLower(stream[start : len(stream)-len(src.b)-br.Buffered()])
			lengths := bytes.Count(head, []byte("\ncontent-length:"))
			encodings := bytes.Count(head, []byte("\ntransfer-encoding:"))
			require.LessOrEqual(t, lengths, 1, "a repeated Content-Length went through: %q", head)
			if encodings > 0 {
				require.True(t, req.ProtoAtLeast(1, 1), "a Transfer-Encoding below HTTP/1.1 went through: %q", head)
				require.Zero(t, lengths, "Content-Length with Transfer-Encoding went through: %q", head)
			}
			if _, err := io.Copy(io.Discard, req.Body); err != nil {
				require.True(t, errors.Is(err, errFraming) || len(src.b) == 0,
					"net/http failed a body the check followed, with bytes left: %v", err)
				return
			}
			if br.Buffered() == 0 {
				require.Equal(t, fsHead, src.f.st, "after a whole request the check expects a head")
				require.False(t, src.f.inHeaders || src.f.n > 0, "after a whole request the check expects a head")
			}
			post = req.Method == http.MethodPost
		}
	})
}

// An Upgrade request that is not switched ends its connection even when
// the handler writes nothing (net/http's 200): the framing check no longer
// follows it, so a later CL+TE request must never be served on it.
func TestUnswitchedUpgradeClosesEvenWithoutAnAnswer(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/up": // answers nothing: net/http sends 200
		case "/up-flushed":
			w.(http.Flusher).Flush()
		case "/up-101": // a 101 without a hijack switches nothing
			w.WriteHeader(http.StatusSwitchingProtocols)
		default:
			_, _ = io.Copy(io.Discard, r.Body)
			_, _ = io.WriteString(w, "served "+r.URL.Path)
		}
	})
	_, addr := startServer(t, h)
	for path, status := range map[string]int{"/up": 200, "/up-flushed": 200, "/up-101": 101} {
		t.Run(path, func(t *testing.T) {
			c := dialWire(t, addr)
			c.send("GET " + path + " HTTP/1.1\r\nHost: x\r\nUpgrade: foo\r\nConnection: upgrade\r\n\r\n")
			resp, err := http.ReadResponse(c.br, &http.Request{Method: "GET"})
			require.NoError(t, err)
			require.Equal(t, status, resp.StatusCode)
			if resp.Close {
				return // closed as it should be
			}
			c.send("POST /smuggle HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
			resp, body := c.answer("POST")
			require.Equal(t, http.StatusBadRequest, resp.StatusCode, "CL+TE served after an unswitched upgrade: %q", body)
		})
	}
}

// A switched upgrade is the handler's: the 101 it relays through a hijacked
// connection (httputil.ReverseProxy's, which writes the header map it was
// given) does not say close, and the connection carries the new protocol.
func TestSwitchedUpgradeIsRelayedWithoutClose(t *testing.T) {
	upAddr := testenv.ServeTCP(t, func(c net.Conn) {
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
		_, _ = io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: foo\r\n\r\n")
		_, _ = io.Copy(c, br) // echoes
	})
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: upAddr})
	_, addr := startServer(t, rp)
	c := dialWire(t, addr)
	c.send("GET /up HTTP/1.1\r\nHost: x\r\nUpgrade: foo\r\nConnection: upgrade\r\n\r\n")
	resp, err := http.ReadResponse(c.br, &http.Request{Method: "GET"})
	require.NoError(t, err)
	require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	assert.False(t, resp.Close, "the 101 says close: %q", resp.Header["Connection"])
	c.send("ping")
	got := make([]byte, 4)
	_, err = io.ReadFull(c.br, got)
	require.NoError(t, err)
	assert.Equal(t, "ping", string(got))
}
