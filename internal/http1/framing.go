package http1

import (
	"bufio"
	"errors"
	"net"
	"net/http"
)

// The framing rule: a request whose body length is ambiguous is refused with
// 400 and its connection closed (RFC 9112 §6.1 and §6.3, as nginx does):
//   - Transfer-Encoding with Content-Length;
//   - Transfer-Encoding on an HTTP/1.0 (or any non-1.1) request;
//   - Content-Length repeated, equal or not, or not 1 to 18 decimal digits.
//
// The lean loop never serves such a head (parseRequestHead hands every
// Transfer-Encoding and every repeated Content-Length to net/http), and
// net/http serves CL+TE by the Transfer-Encoding keeping the connection,
// ignores Transfer-Encoding on HTTP/1.0 and takes a repeated equal length.
// So the rule is held on the byte stream net/http reads: framingCheck
// follows every request of a handed-off connection, head and body, as
// net/http frames them, and fails the read that would complete a refused
// head. net/http then answers "400 Bad Request" with Connection: close and
// closes, having never parsed the head. Where the check cannot be sure to
// follow net/http it refuses too (stricter, never laxer), except after a
// head net/http itself refuses and closes on (an unsupported
// Transfer-Encoding: 501), and after an Upgrade, which switchOrClose makes
// either a switch of protocol or the connection's end.

// errFraming is the read error that makes net/http answer 400 and close. It
// must not be io.EOF, a timeout or a *net.OpError: net/http closes on those
// without answering.
var errFraming = errors.New("http1: ambiguous request framing refused (RFC 9112 §6.1)")

type framingState uint8

const (
	fsHead      framingState = iota // reading a head's lines
	fsBody                          // skipping a Content-Length body
	fsChunkSize                     // reading a chunk-size line
	fsChunkData                     // skipping a chunk's data
	fsChunkCR                       // the CR after a chunk's data
	fsChunkLF                       // the LF after a chunk's data
	fsTrailer                       // reading the trailer section's lines
	fsOff                           // after an upgrade or a head net/http refuses: not HTTP/1.1 framing any more
)

// maxFramingLine bounds what is kept of a line: header names and the
// values of Content-Length and Transfer-Encoding, and chunk-size lines.
// Longer chunk-size lines, and Content-Length or Transfer-Encoding lines,
// are refused (net/http takes chunk lines up to 4 KiB: nobody sends them).
const maxFramingLine = 512

// maxTrailerBytes is net/http's bound on a chunked body's trailer section
// (its reader's buffer).
const maxTrailerBytes = 4 << 10

// framingCheck follows the requests of one connection as net/http reads
// them. Its zero value expects a request head.
type framingCheck struct {
	st   framingState
	line [maxFramingLine]byte // the current line's start
	n    int                  // bytes of the current line, CR included (may exceed len(line))

	// The head being read.
	inHeaders          bool     // past the request line
	begun              bool     // past the CR/LF net/http skips after a POST
	skip               int      // CR/LF net/http may still skip before the head
	spaces             int      // spaces seen in the request line
	proto              [16]byte // the request line after its second space
	protoN             int      // its length (may exceed len(proto))
	post, http11       bool     // the method is POST; the version HTTP/1.1
	lengths, encodings int      // Content-Length and Transfer-Encoding lines
	length             int64    // the Content-Length
	chunked, upgrade   bool     // Transfer-Encoding is chunked; an Upgrade header
	lastFraming        bool     // the previous header line was CL or TE: a fold after it is refused
	headers            int      // header lines so far

	// The body being skipped.
	left         int64 // body or chunk bytes left
	excess       int64 // net/http's count of chunk overhead
	trailerBytes int   // bytes of the trailer section so far
}

// scan follows b, the next bytes net/http is about to read, and returns how
// many of them may be given to it, with errFraming when the rest (from the
// byte that completes a refused head, or that net/http's framing would not
// take) must never be.
func (f *framingCheck) scan(b []byte) (int, error) {
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch f.st {
		case fsOff:
			return len(b), nil
		case fsBody, fsChunkData:
			k := min(int64(len(b)-i), f.left)
			f.left -= k
			i += int(k) - 1
			if f.left > 0 {
				continue
			}
			if f.st == fsBody {
				f.nextHead()
			} else {
				f.st = fsChunkCR
			}
		case fsChunkCR:
			if c != '\r' {
				return i, errFraming
			}
			f.st = fsChunkLF
		case fsChunkLF:
			if c != '\n' {
				return i, errFraming
			}
			f.st, f.n = fsChunkSize, 0
		case fsHead:
			if !f.begun {
				if f.skip > 0 && (c == '\r' || c == '\n') {
					f.skip--
					continue
				}
				f.begun = true
			}
			if c != '\n' {
				f.addByte(c)
			} else if !f.headLine() {
				return i, errFraming
			}
		case fsChunkSize:
			if c != '\n' {
				f.addByte(c)
			} else if !f.chunkLine() {
				return i, errFraming
			}
		case fsTrailer:
			if f.trailerBytes++; f.trailerBytes > maxTrailerBytes {
				return i, errFraming
			}
			if c != '\n' {
				f.addByte(c)
			} else if !f.trailerLine() {
				return i, errFraming
			}
		}
	}
	return len(b), nil
}

// addByte adds c to the current line.
func (f *framingCheck) addByte(c byte) {
	if f.n < len(f.line) {
		f.line[f.n] = c
	}
	f.n++
	if f.st != fsHead || f.inHeaders {
		return
	}
	switch {
	case c == ' ' && f.spaces < 2:
		f.spaces++
	case f.spaces == 2:
		if f.protoN < len(f.proto) {
			f.proto[f.protoN] = c
		}
		f.protoN++
	}
}

// text returns the current line without its line end, and whether it was
// kept whole; it starts the next line.
func (f *framingCheck) text() ([]byte, bool) {
	n := f.n
	f.n = 0
	if n > len(f.line) {
		return f.line[:], false
	}
	if n > 0 && f.line[n-1] == '\r' {
		n--
	}
	return f.line[:n], true
}

// headLine takes a head's line, its LF just read; false when the head is
// refused.
func (f *framingCheck) headLine() bool {
	line, whole := f.text()
	if !f.inHeaders {
		f.inHeaders = true
		if len(line) == 0 {
			return false // net/http: malformed request line, 400
		}
		f.post = len(line) > 5 && string(line[:5]) == "POST "
		p := f.proto[:min(f.protoN, len(f.proto))]
		if len(p) > 0 && p[len(p)-1] == '\r' {
			p = p[:len(p)-1]
		}
		f.http11 = f.protoN <= len(f.proto) && string(p) == "HTTP/1.1"
		return true
	}
	if len(line) == 0 {
		return f.endHead()
	}
	if line[0] == ' ' || line[0] == '\t' { // obs-fold: net/http joins it to the line before
		return f.headers > 0 && !f.lastFraming
	}
	f.headers++
	f.lastFraming = false
	name, value, ok := cutColon(line)
	if !ok {
		return false // net/http: malformed header, 400
	}
	switch {
	case asciiEqualFold(name, "Content-Length"):
		f.lastFraming = true
		f.lengths++
		n, ok := parseLength(string(trimOWS(value)))
		if !whole || !ok {
			return false
		}
		f.length = n
	case asciiEqualFold(name, "Transfer-Encoding"):
		f.lastFraming = true
		f.encodings++
		if !whole {
			return false
		}
		f.chunked = asciiEqualFold(trimOWS(value), "chunked")
	case asciiEqualFold(name, "Upgrade"):
		f.upgrade = true
	}
	return true
}

// endHead applies the framing rule to the head just read and sets how its
// body is followed.
func (f *framingCheck) endHead() bool {
	if f.lengths > 1 || f.encodings > 0 && (f.lengths > 0 || !f.http11) {
		return false
	}
	switch {
	case f.upgrade || f.encodings > 1 || f.encodings == 1 && !f.chunked:
		f.st = fsOff // switched (or closed by switchOrClose); or net/http's 501, which closes
	case f.chunked:
		f.st, f.n, f.excess = fsChunkSize, 0, 0
	case f.length > 0:
		f.st, f.left = fsBody, f.length
	default:
		f.nextHead()
	}
	return true
}

// nextHead expects the head of the request after the current one.
func (f *framingCheck) nextHead() {
	post := f.post
	*f = framingCheck{}
	if post {
		f.skip = 4 // as net/http after a POST: old clients send CRLF after the body
	}
}

// chunkLine takes a chunk-size line, its LF just read, as net/http's
// chunked reader does: CRLF-ended with no other CR, its trailing blanks and
// extension dropped, 1 to 16 hex digits, and no more overhead than 16 bytes
// a chunk plus twice its data, beyond 16 KiB.
func (f *framingCheck) chunkLine() bool {
	line, ok := f.crlfLine()
	if !ok {
		return false
	}
	f.excess += int64(len(line)) + 2
	for len(line) > 0 && (line[len(line)-1] == ' ' || line[len(line)-1] == '\t') {
		line = line[:len(line)-1]
	}
	for i, c := range line {
		if c == ';' {
			line = line[:i]
			break
		}
	}
	if len(line) == 0 || len(line) > 15 { // 16 digits overflow int64
		return false
	}
	var size int64
	for _, c := range line {
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return false
		}
		size = size<<4 | int64(d)
	}
	if f.excess = max(f.excess-16-2*size, 0); f.excess > 16<<10 {
		return false
	}
	if size == 0 {
		f.st, f.trailerBytes = fsTrailer, 0
		return true
	}
	f.st, f.left = fsChunkData, size
	return true
}

// trailerLine takes a line of the trailer section: the empty line ends the
// request; others must be CRLF-ended header fields, a token before the
// colon (which also refuses folds) and no control bytes after.
func (f *framingCheck) trailerLine() bool {
	line, ok := f.crlfLine()
	if !ok {
		return false
	}
	if len(line) == 0 {
		f.nextHead()
		return true
	}
	name, value, ok := cutColon(line)
	return ok && len(name) > 0 && isToken(string(name)) && validFieldValue(string(value))
}

// crlfLine returns the current line without its CRLF; false when it is
// longer than kept, or has a bare LF or another CR (refused by net/http's
// chunked reader).
func (f *framingCheck) crlfLine() ([]byte, bool) {
	n := f.n
	f.n = 0
	if n == 0 || n > len(f.line) || f.line[n-1] != '\r' {
		return nil, false
	}
	line := f.line[:n-1]
	for _, c := range line {
		if c == '\r' {
			return nil, false
		}
	}
	return line, true
}

// cutColon splits a header line at its first colon.
func cutColon(line []byte) (name, value []byte, ok bool) {
	for i, c := range line {
		if c == ':' {
			return line[:i], line[i+1:], true
		}
	}
	return nil, nil, false
}

// trimOWS trims spaces and tabs, and the CR and LF net/http's TrimString
// also trims, around b.
func trimOWS(b []byte) []byte {
	isWS := func(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }
	for len(b) > 0 && isWS(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isWS(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// asciiEqualFold reports whether b equals s ignoring ASCII case only, as
// net/http compares header names and tokens (no Unicode folding).
func asciiEqualFold[T []byte | string](b T, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// switchOrClose is net/http's handler in front of the gateway's: an answer
// to a request with an Upgrade header is either 101 (the connection is the
// handler's from then on) or closes the connection, because framingCheck no
// longer follows it. A handler that answers nothing gets net/http's 200,
// with Connection: close.
type switchOrClose struct{ h http.Handler }

func (s switchOrClose) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, ok := r.Header["Upgrade"]; !ok {
		s.h.ServeHTTP(w, r)
		return
	}
	c := &closeUnlessSwitched{ResponseWriter: w}
	s.h.ServeHTTP(c, r)
	if !c.wrote && !c.switched {
		c.WriteHeader(http.StatusOK)
	}
}

// closeUnlessSwitched adds Connection: close to any answer but a hijack,
// however its head goes out: written, flushed, or left to net/http. The
// header is set when the status is, not before the handler runs: a handler
// that switches may copy the header map into its 101 (httputil.ReverseProxy
// writes rw.Header() after Hijack).
type closeUnlessSwitched struct {
	http.ResponseWriter
	wrote    bool // a final status (or an unhijacked 101) was written, with Connection: close
	switched bool // the connection hijacked: it is the handler's
}

func (c *closeUnlessSwitched) WriteHeader(code int) {
	// A 101 written through net/http switches nothing: only a hijack hands
	// the connection over, and net/http would read on from it otherwise.
	if !c.wrote && !c.switched && (code >= 200 || code == http.StatusSwitchingProtocols) {
		c.wrote = true
		c.Header().Set("Connection", "close")
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *closeUnlessSwitched) Write(b []byte) (int, error) {
	if !c.wrote && !c.switched {
		c.WriteHeader(http.StatusOK)
	}
	return c.ResponseWriter.Write(b)
}

// Flush sends the head first as Write would: net/http's own Flush would
// send it without Connection: close.
func (c *closeUnlessSwitched) Flush() {
	if !c.wrote && !c.switched {
		c.WriteHeader(http.StatusOK)
	}
	_ = http.NewResponseController(c.ResponseWriter).Flush()
}

// Hijack hands the connection to the handler, which answers on it itself.
func (c *closeUnlessSwitched) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(c.ResponseWriter).Hijack()
	if err == nil {
		c.switched = true
	}
	return conn, brw, err
}

// Unwrap lets http.ResponseController reach the rest (deadlines, full
// duplex).
func (c *closeUnlessSwitched) Unwrap() http.ResponseWriter { return c.ResponseWriter }
