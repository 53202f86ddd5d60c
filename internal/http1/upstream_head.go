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
	left int64 // negative: no bound
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
	if h.close {
		delete(h.header, "Connection") // as http.ReadResponse does
	}
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
