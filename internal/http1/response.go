package http1

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// leanResponse is the http.ResponseWriter of the gateway's lean server: one
// per connection, reset for each request. It frames answers as net/http's
// server does: the declared Content-Length when the handler sets one, else a
// computed length when the whole body is written before the handler returns
// and fits in a small buffer, else chunked.
type leanResponse struct {
	bw     *bufio.Writer
	dates  *dateCache
	header http.Header

	status      int
	wroteHead   bool
	bodyless    bool  // HEAD, 1xx, 204, 304: no body on the wire
	declared    int64 // Content-Length the handler set; -1 when none
	written     int64
	chunked     bool
	closeAfter  bool // Connection: close (the client's, or the handler's: writeHead), then close
	failed      bool // a write failed: the connection is done
	pending     []byte
	headRequest bool
}

// leanPending is how much body is held back to compute a Content-Length.
const leanPending = 2 << 10

func (w *leanResponse) reset(headRequest, closeAfter bool) {
	clear(w.header)
	w.status, w.wroteHead, w.bodyless, w.declared, w.written = 0, false, false, -1, 0
	w.chunked, w.closeAfter, w.failed, w.pending, w.headRequest = false, closeAfter, false, w.pending[:0], headRequest
}

func (w *leanResponse) Header() http.Header { return w.header }

func (w *leanResponse) WriteHeader(code int) {
	if w.status != 0 || code < 200 { // 1xx are never relayed by the gateway
		return
	}
	w.status = code
	w.bodyless = w.headRequest || code == http.StatusNoContent || code == http.StatusNotModified
	w.declared = -1
	if cl := w.header["Content-Length"]; len(cl) == 1 {
		if n, ok := parseLength(strings.TrimSpace(cl[0])); ok {
			w.declared = n
		}
	}
}

func (w *leanResponse) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if len(p) == 0 {
		// Nothing to frame, as net/http's chunkWriter has it: written as a
		// chunk of size 0, it would be the last-chunk, and what follows a
		// second answer on the wire.
		return 0, nil
	}
	if w.failed {
		return 0, errLeanWrite
	}
	if w.bodyless {
		if w.headRequest {
			return len(p), nil
		}
		return 0, http.ErrBodyNotAllowed
	}
	if w.declared >= 0 && w.written+int64(len(p)) > w.declared {
		return 0, http.ErrContentLength
	}
	if !w.wroteHead {
		if w.declared < 0 && len(w.pending)+len(p) <= leanPending {
			w.pending = append(w.pending, p...)
			return len(p), nil
		}
		w.chunked = w.declared < 0
		w.writeHead()
		if len(w.pending) > 0 {
			w.writeBody(w.pending)
		}
	}
	w.writeBody(p)
	if w.failed {
		return 0, errLeanWrite
	}
	return len(p), nil
}

func (w *leanResponse) writeBody(p []byte) {
	w.written += int64(len(p))
	if w.chunked {
		w.bw.WriteString(strconv.FormatInt(int64(len(p)), 16))
		w.bw.WriteString("\r\n")
	}
	if _, err := w.bw.Write(p); err != nil {
		w.failed = true // bufio.Writer keeps the error: later writes fail too
	}
	if w.chunked {
		w.bw.WriteString("\r\n")
	}
}

// Flush sends what is written so far; the answer is chunked from then on
// unless its length was declared.
func (w *leanResponse) Flush() {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !w.wroteHead {
		w.chunked = w.declared < 0 && !w.bodyless
		w.writeHead()
		if len(w.pending) > 0 {
			w.writeBody(w.pending)
		}
	}
	if err := w.bw.Flush(); err != nil {
		w.failed = true
	}
}

// finish completes the answer after the handler returned and reports
// whether the connection can serve another request.
func (w *leanResponse) finish() bool {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !w.wroteHead {
		if w.declared < 0 && !w.bodyless {
			w.declared = int64(len(w.pending))
			w.header["Content-Length"] = []string{strconv.Itoa(len(w.pending))}
		}
		w.writeHead()
		if len(w.pending) > 0 {
			w.writeBody(w.pending)
		}
	}
	if w.chunked {
		w.bw.WriteString("0\r\n\r\n")
	}
	if !w.bodyless && w.declared >= 0 && w.written != w.declared {
		w.closeAfter = true // the client waits for bytes that never come
	}
	if err := w.bw.Flush(); err != nil {
		w.failed = true
	}
	return !w.closeAfter && !w.failed
}

// writeHead writes the status line and headers. Values with line breaks are
// flattened as net/http does, and framing headers are the server's own.
func (w *leanResponse) writeHead() {
	w.wroteHead = true
	bw := w.bw
	bw.WriteString("HTTP/1.1 ")
	bw.WriteString(strconv.Itoa(w.status))
	bw.WriteByte(' ')
	bw.WriteString(http.StatusText(w.status))
	bw.WriteString("\r\n")
	for k, vv := range w.header {
		if k == "Connection" {
			// The server writes its own. A handler's close ends the
			// connection after the answer, as net/http's server and
			// x/net/http2's (GOAWAY) take it: looked at here, where every
			// header is visited anyway, not with a lookup per answer.
			for _, v := range vv {
				w.closeAfter = w.closeAfter || listsClose(v)
			}
			continue
		}
		if !isToken(k) || k == "Transfer-Encoding" ||
			(k == "Content-Length" && (w.declared < 0 || w.status == http.StatusNoContent)) {
			continue
		}
		for _, v := range vv {
			if hasLineBreak(v) {
				v = strings.NewReplacer("\r", " ", "\n", " ").Replace(v)
			}
			writeField(bw, k, v)
		}
	}
	if len(w.header["Date"]) == 0 {
		bw.WriteString("Date: ")
		bw.Write(w.dates.now())
		bw.WriteString("\r\n")
	}
	if w.chunked {
		bw.WriteString("Transfer-Encoding: chunked\r\n")
	}
	if w.closeAfter {
		bw.WriteString("Connection: close\r\n")
	}
	bw.WriteString("\r\n")
}

// writeField writes the header line "k: v\r\n" with one copy into bw's
// buffer when it fits there: four WriteString calls per line cost more than
// the bytes, on every header of every request and answer.
func writeField(bw *bufio.Writer, k, v string) {
	if len(k)+len(v)+4 > bw.Available() {
		bw.WriteString(k)
		bw.WriteString(": ")
		bw.WriteString(v)
		bw.WriteString("\r\n")
		return
	}
	b := bw.AvailableBuffer()
	b = append(b, k...)
	b = append(b, ':', ' ')
	b = append(b, v...)
	b = append(b, '\r', '\n')
	_, _ = bw.Write(b) // bufio.Writer keeps an error for the flush to report
}

// hasLineBreak reports whether v holds a CR or an LF; two byte searches cost
// a fraction of strings.ContainsAny, which builds a set per call.
func hasLineBreak(v string) bool {
	return strings.IndexByte(v, '\n') >= 0 || strings.IndexByte(v, '\r') >= 0
}

// dateCache formats the Date header once a second, as net/http and nginx do.
type dateCache struct {
	cur atomic.Pointer[dateValue]
}

type dateValue struct {
	sec int64
	b   []byte
}

func (d *dateCache) now() []byte {
	now := time.Now()
	if v := d.cur.Load(); v != nil && v.sec == now.Unix() {
		return v.b
	}
	v := &dateValue{sec: now.Unix(), b: now.UTC().AppendFormat(nil, http.TimeFormat)}
	d.cur.Store(v)
	return v.b
}
