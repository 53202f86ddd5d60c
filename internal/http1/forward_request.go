package http1

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// dropped reports whether the forwarder never relays the canonical header
// k: hop-by-hop ones, and Expect, which Server answers itself.
func dropped(k string) bool { return HopByHop(k) || k == "Expect" }

// writeRequest writes r's head and body into bw; what is left in bw is for
// upstreamConn.flush. A body goes through stream, which roundTrip gives
// any request that has one.
func (f *Forwarder) writeRequest(bw *bufio.Writer, r *http.Request, host string, owned []string, stream *bodyStream) error {
	bw.WriteString(r.Method)
	bw.WriteByte(' ')
	writeRequestURI(bw, r.URL)
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(oneLine(host))
	bw.WriteString("\r\n")
	listed := len(r.Header["Connection"]) > 0
	for k, vv := range r.Header {
		if dropped(k) || k == "Content-Length" || k == "X-Forwarded-For" || k == f.owned ||
			(listed && ConnectionListed(r.Header, k)) || !forwardedName(k) {
			continue
		}
		for _, v := range vv {
			writeField(bw, k, oneLine(v))
		}
	}
	bw.WriteString("X-Forwarded-For: ")
	for _, v := range r.Header["X-Forwarded-For"] {
		bw.WriteString(oneLine(v))
		bw.WriteString(", ")
	}
	client, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		client = r.RemoteAddr
	}
	bw.WriteString(client)
	bw.WriteString("\r\n")
	for _, v := range owned {
		writeField(bw, f.owned, oneLine(v))
	}
	hasBody := r.Body != nil && r.Body != http.NoBody
	switch {
	case r.ContentLength > 0:
		bw.WriteString("Content-Length: ")
		bw.WriteString(strconv.FormatInt(r.ContentLength, 10))
		bw.WriteString("\r\n\r\n")
		return stream.copy(bw, bw, r.Body, r.ContentLength)
	case r.ContentLength < 0 && hasBody:
		bw.WriteString("Transfer-Encoding: chunked\r\n\r\n")
		cw := httputil.NewChunkedWriter(bw)
		if err := stream.copy(bw, cw, r.Body, -1); err != nil {
			return err
		}
		cw.Close()
		bw.WriteString("\r\n")
	case r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch:
		bw.WriteString("Content-Length: 0\r\n\r\n") // some servers insist (411)
	default:
		bw.WriteString("\r\n")
	}
	return nil
}

// forwardedName reports whether a request header of name k may be sent: a
// token without an underscore. nginx in front of APIcast ignores names with
// one by default (underscores_in_headers off), and servers that turn names
// into CGI-style variables (gunicorn before 22.0, Puma before 6.4.3:
// CVE-2024-45614) read X-Forwarded_For as X-Forwarded-For: a client would
// clobber what the gateway sets.
func forwardedName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if !forwardedNameByte[k[i]] {
			return false
		}
	}
	return true
}

// DropUnforwardable deletes from h the header names the forwarder never
// sends (forwardedName), for requests forwarded another way
// (httputil.ReverseProxy: https upstreams, upgrades).
func DropUnforwardable(h http.Header) {
	for k := range h {
		if !forwardedName(k) {
			delete(h, k)
		}
	}
}

// forwardedNameByte is tokenByte without the underscore.
var forwardedNameByte = alnumAnd("!#$%&'*+-.^`|~")

// writeRequestURI writes u.RequestURI() without building it: its path and
// query are written in turn. The query is written raw, as RequestURI has
// it, but for the bytes that would end or split the request line (see
// writeTargetPart).
func writeRequestURI(bw *bufio.Writer, u *url.URL) {
	if u.Opaque != "" {
		writeTargetPart(bw, u.RequestURI())
		return
	}
	if p := u.EscapedPath(); p != "" {
		bw.WriteString(p)
	} else {
		bw.WriteByte('/')
	}
	if u.ForceQuery || u.RawQuery != "" {
		bw.WriteByte('?')
		writeTargetPart(bw, u.RawQuery)
	}
}

// writeTargetPart writes s, part of a request target, percent-encoding
// spaces and control bytes: a client's target never holds them (both of
// the gateway's parsers refuse them), but one a policy built from the
// client's values may (the routing policy's replace_path, rendered from a
// header or decoded by unescape_uri), and written raw they would split the
// request line, or end it and start a request of the client's making.
func writeTargetPart(bw *bufio.Writer, s string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == 0x7f {
			bw.WriteString(s[:i])
			for ; i < len(s); i++ {
				if c := s[i]; c <= ' ' || c == 0x7f {
					bw.WriteByte('%')
					bw.WriteByte(upperHex[c>>4])
					bw.WriteByte(upperHex[c&15])
				} else {
					bw.WriteByte(c)
				}
			}
			return
		}
	}
	bw.WriteString(s)
}

const upperHex = "0123456789ABCDEF"

// oneLine returns v with its line breaks made spaces, as net/http's server
// makes them in the answers it writes: a value a policy set from the
// client's may hold one, and written as it is it would end the field and
// start another of the client's making.
func oneLine(v string) string {
	if hasLineBreak(v) {
		return strings.NewReplacer("\r", " ", "\n", " ").Replace(v)
	}
	return v
}

// clientBody is the client's request body, read for the upstream: its
// read errors are errClientBody, so that they are told apart from the
// upstream's write errors (an app that answers before it reads the body
// and closes is not the client's fault). It hides WriteTo so copies go
// through the bufio.Writer's ReadFrom in bounded chunks.
type clientBody struct{ r io.Reader }

func (b clientBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		err = errClientBody{err}
	}
	return n, err
}

// errClientBody marks a failure reading the client's request body.
type errClientBody struct{ err error }

func (e errClientBody) Error() string { return "read request body: " + e.err.Error() }
func (e errClientBody) Unwrap() error { return e.err }

// IsBodyError reports whether err came from the client's body: too large
// (413) or cut (400), not the upstream's fault.
func IsBodyError(err error) (status int, ok bool) {
	var be errClientBody
	if !errors.As(err, &be) {
		return 0, false
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return http.StatusRequestEntityTooLarge, true
	}
	return http.StatusBadRequest, true
}

// bodyStream writes a request's body to the upstream as it is read from the
// client, which may take as long as the client takes: each write to the
// upstream is bounded on its own (send), as nginx's proxy_send_timeout
// bounds two successive writes, rather than the upload as a whole. Eager
// (Options.Unbuffered, nginx's proxy_request_buffering off), the head and
// each piece of the body leave as soon as they are read; otherwise what
// fits the write buffer waits for more. Lazy, the bound is the
// connection's deadline (upstreamConn.extend: between half of send and
// all of it, with no timer update for a body sent at once); otherwise
// each write gets all of send (the timeouts policy's send_timeout).
type bodyStream struct {
	uc    *upstreamConn
	send  time.Duration
	eager bool
	lazy  bool
}

// arm bounds the writes that follow.
func (s *bodyStream) arm() {
	switch {
	case s.send <= 0:
	case s.lazy:
		s.uc.extend(s.send)
	default:
		_ = s.uc.c.SetWriteDeadline(time.Now().Add(s.send))
	}
}

// copy sends the client's body through dst (bw, or a chunked writer over
// it): n bytes of it, or all of it when n < 0. Eager, the head in bw and
// then each piece are flushed at once. The last write, upstreamConn.flush
// (the rest of the buffer, a chunked body's end), is armed too: the
// client's end may come long after its last bytes.
func (s *bodyStream) copy(bw *bufio.Writer, dst io.Writer, body io.Reader, n int64) error {
	if s.eager {
		s.arm()
		if err := bw.Flush(); err != nil {
			return err
		}
	}
	src := io.Reader(clientBody{body})
	if n >= 0 {
		src = io.LimitReader(src, n)
	}
	bp := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(bp)
	buf := *bp
	var sent int64
	for {
		k, rerr := src.Read(buf)
		if k > 0 {
			s.arm() // a write that fills the buffer goes out
			if _, err := dst.Write(buf[:k]); err != nil {
				return err
			}
			if s.eager {
				if err := bw.Flush(); err != nil {
					return err
				}
			}
			sent += int64(k)
		}
		if rerr == io.EOF {
			if n >= 0 && sent < n { // the body ended short of its length
				return errClientBody{io.ErrUnexpectedEOF}
			}
			s.arm()
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}
