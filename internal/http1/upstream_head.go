package http1

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// maxUpstreamHead bounds the heads of an upstream's answer, interim (1xx)
// ones included, as MaxHeaderBytes bounds a client's: Go's Transport has
// MaxResponseHeaderBytes, and nginx answers 502 "upstream sent too big
// header" past its proxy_buffer_size (4 or 8 KiB).
const maxUpstreamHead = MaxHeaderBytes

var errUpstreamHeadTooLarge = unusableAnswer("the head of the upstream's answer is over " + strconv.Itoa(maxUpstreamHead) +
	" bytes: the app sends too many or too large headers (or too many 1xx answers); it is not relayed")

// headLimit is the reader under an upstream connection's buffer. While a
// head is read by http.ReadResponse, left is the most that may still be
// read, and a read past it fails; the lean reader is bounded by the
// buffer's size, and bodies are not bounded here.
type headLimit struct {
	r    io.Reader
	left int64  // negative: no bound
	kept []byte // while not nil, what is read is appended (readResponse)
}

func (l *headLimit) Read(p []byte) (int, error) {
	if l.left < 0 {
		return l.r.Read(p)
	}
	if l.left == 0 {
		return 0, errUpstreamHeadTooLarge
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.kept != nil {
		l.kept = append(l.kept, p[:n]...)
	}
	return n, err
}

// upstreamHead is the head of an upstream's answer in the strict subset the
// Forwarder reads itself: HTTP/1.1, a final status other than 204 and 304,
// exactly one plain decimal Content-Length, no Transfer-Encoding, CRLF line
// ends, no folded lines, no control bytes. Anything else is read by
// http.ReadResponse, from the same buffer, nothing of it consumed; a
// differential fuzz test holds the two to the same reading.
type upstreamHead struct {
	status        int
	contentLength int64
	close         bool
	header        http.Header // reused; its values are fresh for every answer
}

// parseUpstreamHead parses head, the status line and header lines through
// the empty line, into h; false when the answer is not in the subset.
func parseUpstreamHead(head string, h *upstreamHead) bool {
	line, rest, ok := cutLine(head)
	if !ok || len(line) < len("HTTP/1.1 200") || line[:9] != "HTTP/1.1 " {
		return false
	}
	code, reason := line[9:12], line[12:]
	if reason != "" && (reason[0] != ' ' || !validFieldValue(reason)) {
		return false
	}
	status, ok := parseLength(code)
	if !ok || status < 200 || status > 599 || status == http.StatusNoContent || status == http.StatusNotModified {
		return false
	}
	h.status, h.contentLength, h.close = int(status), -1, false
	clear(h.header)
	// The values outlive this answer (the client's answer shares them), so
	// they are allocated for each: one slice for all.
	vals := make([]string, 0, strings.Count(rest, "\n")-1)
	for rest != "\r\n" {
		line, rest, ok = cutLine(rest)
		if !ok || line == "" || len(vals) == maxLeanHeaders {
			return false
		}
		key, value, ok := headerField(line)
		if !ok {
			return false
		}
		switch key {
		case "Content-Length":
			n, ok := parseLength(value)
			if !ok || h.contentLength >= 0 {
				return false
			}
			h.contentLength = n
		case "Transfer-Encoding":
			return false
		case "Connection":
			h.close = h.close || listsClose(value)
		}
		vals = addField(h.header, vals, key, value)
	}
	// Connection is kept when it lists close, where http.ReadResponse
	// deletes it: what else it lists is hop-by-hop too (respond drops it).
	return h.contentLength >= 0
}

// readLeanAnswer reads the head of the upstream's answer when it is in the
// subset, and returns the answer with its body; nil, nil when it is not
// (the head is then still in the buffer, for http.ReadResponse).
func (uc *upstreamConn) readLeanAnswer() (*http.Response, error) {
	br := uc.br
	if _, err := br.Peek(1); err != nil {
		return nil, err
	}
	from := 0
	for {
		buf, _ := br.Peek(br.Buffered())
		if i := bytes.Index(buf[from:], crlfcrlf); i >= 0 {
			n := from + i + len(crlfcrlf)
			if !parseUpstreamHead(string(buf[:n]), &uc.head) {
				return nil, nil
			}
			_, _ = br.Discard(n)
			h := &uc.head
			uc.body = leanBody{br: br, n: h.contentLength}
			uc.resp = http.Response{
				StatusCode: h.status, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
				Header: h.header, ContentLength: h.contentLength, Close: h.close, Body: &uc.body,
			}
			return &uc.resp, nil
		}
		if len(buf) == br.Size() || bytes.Contains(buf, lflf) {
			return nil, nil
		}
		from = max(0, len(buf)-len(crlfcrlf)+1)
		if _, err := br.Peek(len(buf) + 1); err != nil {
			return nil, err
		}
	}
}

// readResponse is http.ReadResponse of the answer head at the start of
// uc.br, with the Connection fields it deletes when one lists close (net/http
// keeps only Close) put back: the other headers they list are hop-by-hop
// too (RFC 9110 §7.6.1), and respond drops them by that list. The fields
// are taken from the raw head: from the buffer when it holds the whole head
// (no copy, no wait), else from a copy headLimit keeps as ReadResponse reads
// on (a head over the buffer's 4 KiB).
func (uc *upstreamConn) readResponse(r *http.Request) (*http.Response, error) {
	buf, _ := uc.br.Peek(uc.br.Buffered())
	conn, whole := connectionValues(buf)
	if !whole {
		uc.lim.kept = append(make([]byte, 0, len(buf)+512), buf...)
	}
	resp, err := http.ReadResponse(uc.br, r)
	if !whole {
		conn, _ = connectionValues(uc.lim.kept)
		uc.lim.kept = nil
	}
	if err == nil && len(conn) > 0 && len(resp.Header["Connection"]) == 0 {
		resp.Header["Connection"] = conn
	}
	return resp, err
}

// connectionValues returns the values of the Connection fields of the
// answer head at the start of b, and whether b holds the whole head. Lines
// end in LF, a CR before it dropped, and a line that starts with a space or
// a tab continues the field before it, joined by a space, as textproto
// reads them.
func connectionValues(b []byte) (vals []string, whole bool) {
	_, rest, ok := bytes.Cut(b, []byte{'\n'}) // the status line
	inConn := false
	for ok {
		var line []byte
		if line, rest, ok = bytes.Cut(rest, []byte{'\n'}); !ok {
			break
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		switch {
		case len(line) == 0:
			return vals, true
		case line[0] == ' ' || line[0] == '\t':
			if inConn {
				vals[len(vals)-1] += " " + string(trimOWS(line))
			}
		default:
			name, value, _ := bytes.Cut(line, []byte{':'})
			if inConn = asciiEqualFold(name, "Connection"); inConn {
				vals = append(vals, string(trimOWS(value)))
			}
		}
	}
	return vals, false
}
