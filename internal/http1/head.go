package http1

import (
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
)

// requestHead is a request head the gateway's lean server parsed. It holds
// substrings of one string made of the head's bytes, so parsing a head costs
// one allocation; the header values share one backing array.
type requestHead struct {
	method, target, host string
	path, query          string
	forceQuery           bool
	contentLength        int64 // 0 when absent
	close                bool  // Connection: close
	header               http.Header
	vals                 []string // backing for header's values, reused
}

// maxLeanHeaders bounds the header lines of a head the lean server parses;
// more go to net/http.
const maxLeanHeaders = 64

// parseRequestHead parses head, the bytes of a request line and its header
// lines through the empty line, into h. It accepts only a strict subset of
// HTTP/1.1: origin-form targets whose path needs no unescaping, one Host,
// at most one plain decimal Content-Length, no Transfer-Encoding, Expect or
// Upgrade, CRLF line ends, no folded lines and no control bytes. For
// anything else it returns false and the request goes, unread, to net/http's
// server, which either serves it or answers 400 as it always has. Being
// strict here is what keeps the two parsers from ever disagreeing about
// where a request ends.
func parseRequestHead(head string, h *requestHead) bool {
	line, rest, ok := cutLine(head)
	if !ok {
		return false
	}
	method, after, ok := strings.Cut(line, " ")
	if !ok || method == "" || !isToken(method) {
		return false
	}
	target, proto, ok := strings.Cut(after, " ")
	if !ok || proto != "HTTP/1.1" || !parseTarget(target, h) {
		return false
	}
	h.method, h.target = method, target
	h.host, h.contentLength, h.close = "", 0, false
	clear(h.header)
	h.vals = h.vals[:0]
	hosts, lengths := 0, 0
	for rest != "\r\n" {
		line, rest, ok = cutLine(rest)
		if !ok || line == "" || len(h.vals) == maxLeanHeaders {
			return false
		}
		key, value, ok := headerField(line)
		if !ok {
			return false
		}
		switch key {
		case "Host":
			if hosts++; hosts > 1 || !validHost(value) {
				return false
			}
			h.host = value
			continue // net/http keeps it out of the header map too
		case "Content-Length":
			if lengths++; lengths > 1 {
				return false
			}
			n, ok := parseLength(value)
			if !ok {
				return false
			}
			h.contentLength = n
		case "Transfer-Encoding", "Expect", "Upgrade":
			return false
		case "Connection":
			h.close = h.close || listsClose(value)
		}
		h.vals = addField(h.header, h.vals, key, value)
	}
	// As net/http does (RFC 7234 §5.4).
	if p := h.header["Pragma"]; len(p) > 0 && p[0] == "no-cache" && len(h.header["Cache-Control"]) == 0 {
		h.header["Cache-Control"] = []string{"no-cache"}
	}
	return hosts == 1
}

// newRequestHead returns a head with room for maxLeanHeaders values.
func newRequestHead() *requestHead {
	return &requestHead{header: make(http.Header, 8), vals: make([]string, 0, maxLeanHeaders)}
}

// headerField splits a header line into its canonical name and its value
// without surrounding blanks; false when the line is outside the subset (no
// colon, a name that is not a token, a space before the colon, control
// bytes in the value).
func headerField(line string) (key, value string, ok bool) {
	name, value, ok := strings.Cut(line, ":")
	if !ok || name == "" {
		return "", "", false
	}
	canonical, token := canonicalToken(name)
	if !token {
		return "", "", false
	}
	value = trimBlanks(value)
	if !validFieldValue(value) {
		return "", "", false
	}
	if !canonical {
		name = textproto.CanonicalMIMEHeaderKey(name)
	}
	return name, value, true
}

// canonicalToken reports, in one pass, whether name is a token and whether
// it is already in canonical form (what textproto.CanonicalMIMEHeaderKey
// returns unchanged: an upper-case letter first and after each '-', lower
// case elsewhere), as the names most clients send are.
func canonicalToken(name string) (canonical, token bool) {
	canonical, upper := true, true
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !tokenByte[c] {
			return false, false
		}
		if upper && 'a' <= c && c <= 'z' || !upper && 'A' <= c && c <= 'Z' {
			canonical = false
		}
		upper = c == '-'
	}
	return canonical, true
}

// trimBlanks cuts spaces and tabs off both ends of s, as strings.Trim(s,
// " \t") does, without building a cutset per call.
func trimBlanks(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// addField adds value under key to h, taking its slice from vals (whose
// capacity is reserved beforehand) so that a header costs no allocation
// unless its name repeats; it returns vals with value appended.
func addField(h http.Header, vals []string, key, value string) []string {
	vals = append(vals, value)
	n := len(vals)
	if vv, seen := h[key]; seen {
		h[key] = append(vv, value) // a repeated name: rare, allocates
	} else {
		h[key] = vals[n-1 : n : n]
	}
	return vals
}

// listsClose reports whether a Connection header's value has the close
// token, as net/http reads it (httpguts.HeaderValuesContainsToken): tokens
// trimmed of spaces and tabs only, compared without Unicode folding, so that
// a head is close to both or to neither.
func listsClose(value string) bool {
	for tok := range strings.SplitSeq(value, ",") {
		if asciiEqualFold(trimBlanks(tok), "close") {
			return true
		}
	}
	return false
}

// cutLine cuts s at its first line end, which must be CRLF: a bare LF is
// refused (net/http takes it, and so the head goes there). IndexByte is
// several times faster than searching for "\r\n".
func cutLine(s string) (line, rest string, ok bool) {
	i := strings.IndexByte(s, '\n')
	if i < 1 || s[i-1] != '\r' {
		return "", "", false
	}
	return s[:i-1], s[i+1:], true
}

// parseTarget takes an origin-form target whose path is made only of bytes
// that url.ParseRequestURI leaves as they are (no escapes), so that Path is
// the path as sent and RawPath is empty, exactly as net/http would have it.
// The query is kept raw, as net/http keeps it.
func parseTarget(target string, h *requestHead) bool {
	if target == "" || target[0] != '/' {
		return false
	}
	path, query, hasQuery := strings.Cut(target, "?")
	for i := 0; i < len(path); i++ {
		if !plainPathByte(path[i]) {
			return false
		}
	}
	for i := 0; i < len(query); i++ {
		if c := query[i]; c <= ' ' || c == 0x7f {
			return false
		}
	}
	h.path, h.query, h.forceQuery = path, query, hasQuery && query == ""
	return true
}

func plainPathByte(c byte) bool { return pathByte[c] }

// isToken reports whether s is an RFC 9110 token. A table lookup per byte:
// it runs on every header name, both ways, of every request.
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		if !tokenByte[s[i]] {
			return false
		}
	}
	return true
}

// Byte classes, looked up per byte of every head: tokenByte marks RFC 9110
// tokens (tchar), pathByte what a path may hold unescaped, hostByte a Host.
var (
	tokenByte = alnumAnd("!#$%&'*+-.^_`|~")
	pathByte  = alnumAnd("-._~$&+,/:;=@")
	hostByte  = alnumAnd("-._:[]")
)

// alnumAnd is the table of ASCII letters and digits and the bytes of extra.
func alnumAnd(extra string) (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for i := 0; i < len(extra); i++ {
		t[extra[i]] = true
	}
	return t
}

// validFieldValue refuses control bytes but horizontal tab.
func validFieldValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// validHost accepts a host[:port] of plain name, IPv4 or bracketed IPv6 bytes.
func validHost(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !hostByte[s[i]] {
			return false
		}
	}
	return true
}

// parseLength reads 1 to 18 decimal digits: no sign, no spaces, no overflow.
func parseLength(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// url fills u as url.ParseRequestURI would from the head's target.
func (h *requestHead) url(u *url.URL) {
	*u = url.URL{Path: h.path, RawQuery: h.query, ForceQuery: h.forceQuery}
}
